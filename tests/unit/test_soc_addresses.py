"""Which addresses a SOC integration may reach without the lab setting (issue 10, item 4).

covers: S12
"""

from __future__ import annotations

import ipaddress

import pytest

from appliance.cloud.soc_targets import address_refused, check_url


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("8.8.8.8", False),
        ("2001:4860:4860::8888", False),
        ("93.184.215.14", False),
        ("127.0.0.1", True),
        ("127.9.9.9", True),
        ("::1", True),
        ("10.0.0.1", True),
        ("172.31.255.255", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),
        ("fe80::1", True),
        ("fc00::1", True),
        ("0.0.0.0", True),
        ("::", True),
        ("224.0.0.1", True),
        ("ff02::1", True),
        ("100.64.0.1", True),
        ("192.0.2.1", True),
        ("255.255.255.255", True),
        ("::ffff:127.0.0.1", True),
        ("::ffff:10.0.0.1", True),
        ("2002:7f00:1::", True),  # 6to4 wrapping 127.0.0.1
    ],
)
def test_only_public_unicast_addresses_are_targets(address, refused):
    assert address_refused(ipaddress.ip_address(address)) is refused


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://8.8.8.8/hook", True),
        ("http://8.8.8.8/hook", False),
        ("https://127.0.0.1/hook", False),
        ("https://[::ffff:a00:1]/hook", False),
    ],
)
async def test_urls_need_https_and_a_public_address(url, allowed):
    problem = await check_url(url, allow_private=False)
    assert (problem is None) is allowed and (allowed or problem.startswith("url:"))
    assert await check_url(url, allow_private=True) is None  # the lab setting allows its network
