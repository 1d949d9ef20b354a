"""The channels under test, one rig per provider of the registry, in its order."""

from __future__ import annotations

from channels.registry import PROVIDERS
from tests.channels.cmpp_rig import CMPP_SPEC
from tests.channels.rigs import HTTP_SPECS

#: The rig of each provider, by its registry name.
RIGS = {spec.name: spec for spec in [*HTTP_SPECS, CMPP_SPEC]}
#: The registry's providers that have a rig, in its order (one without a rig fails
#: ``test_registry.test_every_provider_has_a_rig_for_the_contract_tests``).
SPECS = [RIGS[p.name] for p in PROVIDERS if p.name in RIGS]
