"""Outbound address policy (SPEC §9): which resolved IP addresses upstream connections
may reach.

Link-local and cloud metadata addresses are refused unless an allow-list entry covers
them; an explicit deny list adds more. Loopback and private ranges stay allowed because
on-prem model servers are normal upstreams. When several rules match an address the most
specific prefix decides; on equal prefixes an explicit deny beats an allow, and an allow
beats the built-in refusal (so allowing ``169.254.0.0/16`` really allows it).

The decision is applied to addresses *after* DNS resolution and again when each socket
is created, so a hostname that resolves to a metadata address cannot slip through.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Final

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

BUILTIN_REFUSED_CIDRS: Final[tuple[str, ...]] = (
    "169.254.0.0/16",  # IPv4 link-local, incl. the AWS/GCP/Azure metadata endpoint
    "fe80::/10",  # IPv6 link-local
    "fd00:ec2::254/128",  # AWS metadata over IPv6
    "100.100.100.200/32",  # Alibaba Cloud metadata
)

# Rule ranks: on an equal prefix length the higher rank wins.
_BUILTIN, _ALLOW, _DENY = 0, 1, 2


def parse_cidrs(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Parse CIDRs (a bare address counts as a /32 or /128); raises ValueError naming the
    bad entry so a misconfiguration fails at start, not on the first request."""
    networks: list[IPNetwork] = []
    for raw in values:
        text = raw.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError as error:
            raise ValueError(f"invalid CIDR {text!r}: {error}") from None
    return tuple(networks)


class AddressPolicy:
    """Immutable after construction; ``refusal`` is a pure function of the address."""

    __slots__ = ("_rules",)

    def __init__(self, allow_cidrs: Iterable[str] = (), deny_cidrs: Iterable[str] = ()) -> None:
        rules: list[tuple[IPNetwork, int]] = []
        rules.extend((net, _BUILTIN) for net in parse_cidrs(BUILTIN_REFUSED_CIDRS))
        rules.extend((net, _ALLOW) for net in parse_cidrs(allow_cidrs))
        rules.extend((net, _DENY) for net in parse_cidrs(deny_cidrs))
        self._rules: tuple[tuple[IPNetwork, int], ...] = tuple(rules)

    def refusal(self, address: str) -> str | None:
        """``None`` when connecting to ``address`` is allowed, else the reason.

        Non-IP input is refused: callers only pass resolved addresses."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return f"{address!r} is not an IP address"
        return self._decide(ip)

    def _decide(self, ip: IPAddress) -> str | None:
        # An IPv4-mapped IPv6 address (::ffff:169.254.169.254) reaches the IPv4 host.
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        best: tuple[int, int] | None = None
        for net, rank in self._rules:
            if net.version == ip.version and ip in net:
                key = (net.prefixlen, rank)
                if best is None or key > best:
                    best = key
        if best is None or best[1] == _ALLOW:
            return None
        if best[1] == _DENY:
            return f"{ip} is in a denied range"
        return f"{ip} is a link-local or metadata address"
