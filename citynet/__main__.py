"""``python -m citynet``: the ``citynet`` command (how ``citynet serve`` starts its
children with the same interpreter)."""

from citynet.cli import main

main()
