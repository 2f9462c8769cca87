"""The device hub's HTTP side: the cameras' WebSocket (``devices.py``, ``/hub/v1/devices``), and
``setup_hub``, which starts the hub's stream and position cores and registers its live registry
for the other parts (``appliance.devices.DEVICE_HUB``)."""

from .devices import setup_hub

__all__ = ["setup_hub"]
