"""``bwlab content-destination``: the lab's own content destination (issue 13).

A small receiver that implements the server side of the Body Worn Content Destination API — the
subset of OpenStack Swift that a body-worn system uses — so that a trainer can show the whole
offload path with nothing else installed:

* ``store.py``: the durable object store under a directory (containers, objects, their metadata);
* ``auth.py``: tempauth-like tokens that expire (read from an injected clock);
* ``server.py``: the aiohttp application (``/auth/v1.0``, ``/v1/{account}/…``, the read-only
  browse pages with decryption) and ``serve``;
* ``setup.py``: the destination's settings, TLS certificate, content key pair and connection file.

The wire formats (connection file, capabilities, metadata headers, names, key objects) live in
``bwlab.wire.content_destination``, shared with the controller's client.
"""
