"""``outboxd demo``: the Pennylane simulator, the daemon and the dashboard on a simulated shop, cleaned up on exit.

A newcomer connects the shop through the simulator's OAuth page, watches three weeks of history and live
tickets flow, and meets a ticket the mapping cannot book (8.5 % VAT) to fix and retry, or discard.
"""

from outboxd.demo.session import DemoOptions, run_demo

__all__ = ["DemoOptions", "run_demo"]
