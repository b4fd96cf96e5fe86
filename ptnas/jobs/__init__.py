"""Jobs: a whole search or evaluation from checked settings to a written run dir. The programs
(ptnas/cli) and the Python API (`ptnas.search`, `ptnas.evaluate`) are two doors to the same job: the
same setting names, checks, run dirs and resume."""
