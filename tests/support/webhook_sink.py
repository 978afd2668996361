"""The local Standard Webhooks receiver lives in ``vendorwatch.sink`` (the demo uses it too)."""

from vendorwatch.sink import Delivery, WebhookSink, webhook_sink

__all__ = ["Delivery", "WebhookSink", "webhook_sink"]
