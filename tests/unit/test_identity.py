import pytest

from business.services.identity import MAX_ATTEMPTS, IdentityVerifier, parse_id_last4, parse_phone


@pytest.mark.parametrize(
    "text, phone",
    [
        ("13800138001", "13800138001"),
        ("我的手机是138 0013 8001", "13800138001"),
        ("１３８００１３８００１", "13800138001"),
        ("12800138001", None),  # not a mobile prefix
        ("1380013800", None),  # ten digits
        ("不知道", None),
    ],
)
def test_phone_numbers(text, phone):
    assert parse_phone(text) == phone


@pytest.mark.parametrize(
    "text, last4",
    [
        ("2817", "2817"),
        ("351x", "351X"),
        ("后四位是351X", "351X"),
        ("28", None),
        ("28171", None),
        ("abcd", None),
    ],
)
def test_id_card_last4(text, last4):
    assert parse_id_last4(text) == last4


def test_the_right_pair_verifies(session):
    verifier = IdentityVerifier(session)
    result = verifier.verify(verifier.candidate("13700137003"), "351x")
    assert result.verified and result.customer.id == "C003"


def test_a_wrong_pair_never_says_which_half_was_wrong(session):
    verifier = IdentityVerifier(session)
    assert verifier.candidate("13911112222") == ""  # nobody's number: nothing to tell apart later
    wrong_id = verifier.verify(verifier.candidate("13800138001"), "0000")
    unknown_phone = verifier.verify(verifier.candidate("13911112222"), "2817")
    assert not wrong_id.verified and not unknown_phone.verified
    assert wrong_id.attempts_left == unknown_phone.attempts_left == MAX_ATTEMPTS - 1


def test_the_third_failure_locks(session):
    verifier = IdentityVerifier(session)
    assert not verifier.verify("C001", "0000", failures_so_far=1).locked
    assert verifier.verify("C001", "0000", failures_so_far=2).locked


def test_wechat_openid_binding(session):
    assert IdentityVerifier(session).customer_for_openid("oXH_demo_zhangwei_0001").id == "C001"
    assert IdentityVerifier(session).customer_for_openid("oXH_unknown") is None
