"""Counting: the cost formula registry, the capture of every aten op with its module, the Report,
and the roofline arithmetic. See ARCHITECTURE.md for the map."""
