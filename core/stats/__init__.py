"""Statistics computed on top of the storage port, shared by alert rules and the overview:
engagement velocity (``velocity``), emerging terms (``emerging``) and the analysts'
overview (``overview``). Only ``core`` is imported here."""
