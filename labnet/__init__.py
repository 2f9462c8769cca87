"""The lab network: the cameras' Wi-Fi and mobile radios, the network faults, the NTP responder
(SPEC S8, T2, T3, T4, L2, L4; DESIGN "Lab network").

Pure, time-injected cores (a driver feeds them events with the lab time and reads back state,
events and 802.11 frames), shared by the fleet (``firmware_stub``), the scenario files (``bwlab``)
and the appliance's lab adapters. It imports neither ``appliance`` nor ``firmware_stub``.

* ``config``: how its configuration is read (through ``bwlab.schema``, the project's one reader);
* ``events``: 802.11 frames and link events;
* ``propagation``: path loss, channel frequencies, link quality;
* ``radio_config``: access points, a camera's networks, the radio's tunables;
* ``wifi``: the per-camera Wi-Fi state machine;
* ``mobile``: SIM, cells and the LTE modem;
* ``faults``: the fault book and the world a fleet runs in;
* ``ntp``: NTP packets and the responder (the UDP server is the appliance's);
* ``telemetry``: a camera's reported radio state and frame log ⇄ JSON.
"""
