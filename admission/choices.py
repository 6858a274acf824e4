"""Enumerations of the admission domain."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Who a person is to the network; roles map to VLANs and policies later."""

    STAFF = "staff"
    TEACHER = "teacher"
    STUDENT = "student"


class PersonStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"
