"""The run: the command line, the one start-up, the pytest hooks, outcomes and reports.

The top wing: it may use every wing below; of it, only ``state`` is imported from below.
"""
