"""vendorwatch: command line, settings and the demo that tie ``schemas``, ``streams`` and ``alerts`` together."""
