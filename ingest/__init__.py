"""HTTP ingest for producers: ``POST /v1/events`` validates CloudEvents and publishes them to Kafka.

Modules, from the edge inwards::

    service.py   ``vendorwatch ingest``: settings -> grants, Kafka publisher, aiohttp server
    app.py       ``create_app(grants, sink, limits)``: routes, status codes, problem documents
    openapi.py   the OpenAPI 3.1 document served at ``/openapi.json`` (built from the exported JSON Schemas)
    tokens.py    bearer tokens: hashed grants from settings, constant-time lookup, allowed types
    problems.py  pure: one decoded JSON value -> CloudEvent, or a list of problems with JSON pointers
    cli.py       argparse wiring for ``vendorwatch ingest`` and ``vendorwatch schemas check``

Nothing here decides anything about ownership or alerts; it only admits events into the input topics.
"""
