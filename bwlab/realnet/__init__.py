"""The real lab network (issue 15): cameras, controllers and browsers in their own network
namespaces on a Linux bridge, the service's host names (T5) over a lab DNS and SNI, and faults
made of packets (nftables, tc). ``plan`` (addresses, names) and ``faults`` (rules) are pure;
``runner`` runs the commands; ``lab`` builds and tears down; ``commands`` is the CLI.
See docs/network.md.
"""
