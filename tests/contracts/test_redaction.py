"""The masking corpus (contracts/redaction.py): realistic messages with personal data, each with the pieces that
must not survive masking, and look-alikes that must come out unchanged. Prints recall and false positives."""

from __future__ import annotations

import pytest

from contracts.redaction import mask_personal_data

# (message, the secrets in it). Every secret must be gone from the masked text, whatever its spacing.
WITH_PERSONAL_DATA = [
    ("my card 4242 4242 4242 4242 was stolen", ["4242 4242 4242 4242"]),
    ("card number is 4000-0566-5566-5556 pls block", ["4000-0566-5566-5556"]),
    ("4111111111111111", ["4111111111111111"]),
    ("the long number on the front 5555  5555  5555  4444", ["5555  5555  5555  4444"]),
    ("amex 3782 822463 10005 got declined", ["3782 822463 10005"]),
    ("i typed it wrong, its 4242 4242 4242 4241", ["4242 4242 4242 4241"]),
    ("card 4242.4242.4242.4242 expires 09/27", ["4242.4242.4242.4242"]),
    ("my iban is GB82 WEST 1234 5698 7654 32 can you check it", ["WEST 1234 5698 7654", "GB82 WEST"]),
    ("send it to DE89370400440532013000 please", ["DE89370400440532013000", "370400440532013"]),
    ("iban gb82west12345698765432", ["gb82west12345698765432", "12345698765"]),
    ("my sort code is 20-00-00 and account 31926819", ["20-00-00", "31926819"]),
    ("sort code 60 16 13, account number 12345678", ["60 16 13", "12345678"]),
    ("pay 40-47-84 70872490 by friday", ["40-47-84", "70872490"]),
    ("acc no: 55779911", ["55779911"]),
    ("my account number is 87654321", ["87654321"]),
    ("ssn 123-45-6789", ["123-45-6789"]),
    ("my social security number is 078 05 1120", ["078 05 1120"]),
    ("my NI number is QQ 12 34 56 C", ["QQ 12 34 56 C", "12 34 56"]),
    ("national insurance AB123456D", ["AB123456D", "123456"]),
    ("my pin is 1234", ["1234"]),
    ("PIN: 9876 i think", ["9876"]),
    ("the cvv is 123", ["123"]),
    ("cvc 4567 on the back", ["4567"]),
    ("they asked me for the one-time code 482913 is that normal", ["482913"]),
    ("the code they texted me: 774201", ["774201"]),
    ("my otp was 55120, didnt work", ["55120"]),
    ("security code: 321", ["321"]),
]

# Look-alikes of personal data that a customer writes all the time: each must come out exactly as it went in.
LOOK_ALIKES = [
    "I was charged £1,234.56 on 12/03/2024",
    "the payment of 250.00 on 2024-03-12 at 10:30",
    "call me on 07700 900123",
    "my number is +44 20 7946 0958",
    "reference 98765432 on the letter",
    "transaction ref TX-2024-118822",
    "I sent 12000 to my landlord",
    "it happened on 12-05-24 around 3pm",
    "card ending 4242",
    "the last four digits are 1881",
    "my pin got locked after 3 wrong tries",
    "i forgot my PIN, where can I see it",
    "order 123-456 arrived",
    "we met on 01.02.2023",
    "what's your sort code",
    "how long is an account number",
    "can I get a new card, mine is 5 years old",
    "I need 2 statements from 2021 and 2022",
    "postcode SW1A 1AA",
    "flight BA 2490 was cancelled and they charged me twice",
]


@pytest.mark.parametrize("message, secrets", WITH_PERSONAL_DATA)
def test_personal_data_is_masked(message: str, secrets: list[str]) -> None:
    masked = mask_personal_data(message)
    for secret in secrets:
        assert secret.lower() not in masked.lower(), f"{secret!r} survived in {masked!r}"


@pytest.mark.parametrize("message", LOOK_ALIKES)
def test_look_alikes_are_left_as_they_are(message: str) -> None:
    assert mask_personal_data(message) == message


def test_what_is_kept_of_a_masked_number() -> None:
    assert mask_personal_data("my card 4242 4242 4242 4242 was stolen") == "my card ****4242 was stolen"
    assert mask_personal_data("iban GB82 WEST 1234 5698 7654 32") == "iban GB82****5432"
    assert mask_personal_data("sort code 20-00-00 account 31926819") == "sort code **-**-** account ****6819"
    assert mask_personal_data("my pin is 1234") == "my pin is ****"


def test_masking_twice_changes_nothing() -> None:
    for message, _ in WITH_PERSONAL_DATA:
        once = mask_personal_data(message)
        assert mask_personal_data(once) == once


def test_the_corpus_figures() -> None:
    """Recall: messages whose every secret is gone; false positives: look-alikes changed. Printed for the note."""
    caught = sum(
        all(s.lower() not in mask_personal_data(m).lower() for s in secrets) for m, secrets in WITH_PERSONAL_DATA
    )
    changed = sum(mask_personal_data(m) != m for m in LOOK_ALIKES)
    print(
        f"\nmasking corpus: recall {caught}/{len(WITH_PERSONAL_DATA)}, "
        f"false positives {changed}/{len(LOOK_ALIKES)} look-alikes"
    )
    assert (caught, changed) == (len(WITH_PERSONAL_DATA), 0)
