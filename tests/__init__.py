"""citynet's tests. A regular package, so ``python -m tests.lab.wan`` finds ours
and not the ``tests`` package some dependencies install (textfsm 2.1 does)."""
