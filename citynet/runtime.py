"""What a command needs, built once and on demand: config, store, secret box."""

from __future__ import annotations

from functools import cached_property

from citynet import config as config_module
from citynet import logs
from citynet.crypto import SecretBox, open_box
from citynet.db import Store


class Runtime:
    def __init__(self, config_path: str | None = None) -> None:
        self.config_path = config_path
        self._box: SecretBox | None = None
        # the radius role's listener this process is on its node (from 1): a child of
        # `citynet serve`, or a serve given `--listener N` (a systemd unit's instance);
        # None: the node's only listener, or no listener
        self.listener: int | None = None
        # this listener shares its fixed ports with the node's others (SO_REUSEPORT);
        # alone, it holds them to itself (citynet.roles.Plan.share_ports)
        self.share_ports = False

    @classmethod
    def of(cls, config: config_module.Config, store: Store,
           box: SecretBox | None) -> Runtime:
        """A runtime over what a running process has built already (the web app's
        config, store and box), for the domain hooks that take one."""
        made = cls()
        made.__dict__.update(config=config, raw_store=store, store=store)
        made._box = box
        return made

    @cached_property
    def config(self) -> config_module.Config:
        config = config_module.load(self.config_path)
        logs.configure(config.logging.level, config.logging.format)
        return config

    @cached_property
    def raw_store(self) -> Store:
        """The store without the schema check (for `db upgrade` and `restore`)."""
        return Store.from_config(self.config)

    @cached_property
    def store(self) -> Store:
        """The store, refusing a schema that is not this version's."""
        self.raw_store.ensure_current()
        return self.raw_store

    def box(self, *, create: bool = False) -> SecretBox | None:
        """The secret box, checked against the store (a new key file only with create);
        opened once per command, however many steps ask for it."""
        if self._box is None:
            self._box = open_box(self.config, self.store, create=create)
        return self._box

    def close(self) -> None:
        if "raw_store" in self.__dict__:
            self.raw_store.close()
