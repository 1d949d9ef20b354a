"""The contract every channel keeps (tests/channels/test_contract.py), run against CMPP.

The functions are the contract module's own, collected here with the CMPP rig
as their ``spec``; once the registry drives the contract's parametrization,
this file goes.
"""

from __future__ import annotations

import pytest

from tests.channels import test_contract as contract
from tests.channels.cmpp_rig import CMPP_SPEC

pytestmark = pytest.mark.parametrize("spec", [CMPP_SPEC], ids=["cmpp"])

test_each_message_gets_a_provider_id_in_order = (
    contract.test_each_message_gets_a_provider_id_in_order
)
test_provider_trouble_is_transient_for_every_message = (
    contract.test_provider_trouble_is_transient_for_every_message
)
test_a_bad_recipient_fails_alone_and_permanently = (
    contract.test_a_bad_recipient_fails_alone_and_permanently
)
test_wrong_credentials_are_fatal = contract.test_wrong_credentials_are_fatal
test_more_than_a_batch_is_split_by_the_caller = (
    contract.test_more_than_a_batch_is_split_by_the_caller
)
test_distinct_texts_reach_their_own_recipients = (
    contract.test_distinct_texts_reach_their_own_recipients
)
test_content_within_the_limit_arrives_and_over_it_is_refused = (
    contract.test_content_within_the_limit_arrives_and_over_it_is_refused
)
test_receipts_carry_the_ids_of_the_send = contract.test_receipts_carry_the_ids_of_the_send
