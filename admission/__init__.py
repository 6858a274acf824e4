"""Network admission (802.1X): the people who may join the internal networks, the
district's certificate authority, and the certificates it issues to them.

Imports only the kernel (``citynet``). FreeRADIUS does the EAP and TLS work; this domain
is its identity and certificate source.
"""
