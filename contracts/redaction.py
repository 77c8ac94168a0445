"""Personal data never travels past the first hop: it is masked before it is stored, logged or sent on.

The portal masks customer, agent and bot text before it stores it or sends it to the bot, and the bot's input
channel masks again before the text reaches the tracker store or a log, so neither side depends on the other.
What is masked, and to what (tests/contracts/test_redaction.py holds a corpus of realistic messages, with the
look-alikes that must stay as they are: amounts, dates, times, phone numbers, short references):

| what | recognised by | masked to |
|---|---|---|
| IBAN | country code, check digits, 11–30 letters or digits, spaced or not; the mod-97 checksum | `GB82****5432` |
| US social security number | `123-45-6789`, or 9 digits after "SSN" / "social security" | `***-**-****` |
| UK National Insurance number | two letters, six digits, A–D, spaced or not | `****` |
| UK sort code | `12-34-56` / `12 34 56` after "sort code" or before an account number | `**-**-**` |
| UK account number | 8 digits after "account number"/"acc no"/"account" or after a sort code | `****5678` |
| PIN, CVV, one-time code | 3–8 digits said to be one ("my pin is 1234", "the code they texted: 482913") | `****` |
| card number | 13–19 digits, grouped by up to two spaces, dashes or dots (no Luhn check: a mistyped card is one too) | `****4242` |
"""

from __future__ import annotations

import re

MASK_PREFIX = "****"
_I = re.IGNORECASE

_IBAN = re.compile(r"(?<![A-Z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Z0-9])", _I)
_SSN_DASHED = re.compile(r"(?<![\d*-])\d{3}-\d{2}-\d{4}(?![\d-])")
_SSN_SAID = re.compile(r"((?:ssn|social security(?: number)?)\W{1,5}(?:is\W{1,3})?)\d{3}[ -]?\d{2}[ -]?\d{4}(?!\d)", _I)
# Any two letters (HMRC's own examples start QQ), six digits, a suffix A–D: words never look like that.
_NI_NUMBER = re.compile(r"(?<![A-Z0-9])[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![A-Z0-9])", _I)
_SORT_CODE = r"\d{2}[- ]\d{2}[- ]\d{2}"
_SORT_CODE_SAID = re.compile(rf"(sort[- ]?code\W{{1,12}}(?:is\W{{1,3}})?){_SORT_CODE}(?!\d)", _I)
_SORT_CODE_WITH_ACCOUNT = re.compile(rf"(?<![\d*]){_SORT_CODE}(\W{{1,20}}(?:account\W{{1,12}})?)(\d{{4}})(\d{{4}})(?!\d)", _I)
_ACCOUNT_SAID = re.compile(
    r"((?:account|acc|acct)(?:\W{0,2}(?:number|no|num|#))?\W{1,12}(?:is\W{1,3})?)\d{4}(\d{4})(?!\d)", _I
)
_SECRET_CODE = re.compile(
    r"((?:pin|cvv|cvc|cv2|security code|passcode|one[- ]time (?:pass)?code|otp|verification code"
    r"|auth(?:entication)? code|code (?:they|you) (?:texted|sent))\b"
    r"\W{0,4}(?:(?:is|was|number|of|it's|its|me|:)\W{1,3}){0,3})\d{3,8}(?!\d)",
    _I,
)
_CARD = re.compile(r"(?<![\d*])\d(?:[ .-]{0,2}\d){12,18}(?![\d])")


def _iban_valid(compact: str) -> bool:
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


def _mask_iban(match: re.Match[str]) -> str:
    """The longest prefix of the match that is a valid IBAN (the pattern may run into a following word)."""
    text = match.group(0)
    for end in range(len(text), 14, -1):
        compact = text[:end].replace(" ", "").upper()
        if 15 <= len(compact) <= 34 and _iban_valid(compact):
            return compact[:4] + MASK_PREFIX + compact[-4:] + text[end:]
    return text


def mask_personal_data(text: str) -> str:
    """`text` with the personal data of the table above masked. Idempotent: masking twice changes nothing."""
    text = _IBAN.sub(_mask_iban, text)
    text = _SSN_DASHED.sub("***-**-****", text)
    text = _SSN_SAID.sub(lambda m: f"{m.group(1)}***-**-****", text)
    text = _NI_NUMBER.sub(MASK_PREFIX, text)
    text = _SORT_CODE_WITH_ACCOUNT.sub(lambda m: f"**-**-**{m.group(1)}{MASK_PREFIX}{m.group(3)}", text)
    text = _SORT_CODE_SAID.sub(lambda m: f"{m.group(1)}**-**-**", text)
    text = _ACCOUNT_SAID.sub(lambda m: f"{m.group(1)}{MASK_PREFIX}{m.group(2)}", text)
    text = _SECRET_CODE.sub(lambda m: f"{m.group(1)}{MASK_PREFIX}", text)
    return _CARD.sub(lambda m: MASK_PREFIX + re.sub(r"\D", "", m.group(0))[-4:], text)
