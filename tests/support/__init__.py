"""Helpers shared by the test folders: services, real processes, a cuttable proxy, the browser."""
