from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select

from business.store.db import engine_for, session_scope
from business.store.models import Base, Customer, FlightBooking, Order, Refund, WalletTransaction
from business.store.seed import load_demo_data, main, seed
from tests.conftest import NOW


def counts(session):
    return {
        model.__name__: session.execute(select(func.count()).select_from(model)).scalar_one()
        for model in (Customer, Order, Refund, WalletTransaction, FlightBooking)
    }


def test_seed_loads_every_demo_record(session):
    data = load_demo_data()
    assert counts(session) == {
        "Customer": len(data["customers"]),
        "Order": len(data["orders"]),
        "Refund": 2,  # the refunding and the refunded order
        "WalletTransaction": len(data["wallet_transactions"]),
        "FlightBooking": len(data["flight_bookings"]),
    }


def test_seeding_twice_adds_nothing(session):
    before = counts(session)
    report = seed(session, load_demo_data(), now=NOW)
    assert set(report.added.values()) == {0}
    assert counts(session) == before


def test_relative_dates_resolve_against_today(session):
    order = session.get(Order, "XH2611010002")
    assert order.delivered_at.date() == date(2026, 11, 19)
    assert session.get(Order, "XH2611010001").eta == date(2026, 11, 23)
    booking = session.get(FlightBooking, "K7M2QD")
    assert booking.departs_at == datetime(2026, 11, 27, 8, 0)
    assert session.get(FlightBooking, "Z8N4TB").departs_at < NOW


def test_money_is_exact(session):
    assert session.get(Customer, "C001").wallet_balance == Decimal("1280.50")
    assert session.get(Order, "XH2611010002").total == Decimal("178.00")


def test_payment_methods_follow_the_demo_history(session):
    assert session.get(Order, "XH2611010001").payment_method == "wallet"
    assert session.get(Order, "XH2611060005").payment_method == "wechat"
    assert session.get(Order, "XH2610200007").payment_method == "bank_card"
    assert session.get(Order, "XH2611070006").payment_method is None


def test_cli_if_empty_and_reset(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert main([]) == 0
    assert main(["--if-empty"]) == 0
    assert "not seeding" in capsys.readouterr().out
    with session_scope(engine_for(url)) as session:
        session.get(Order, "XH2611050004").status = "cancelled"
    assert main(["--reset"]) == 0
    with session_scope(engine_for(url)) as session:
        assert session.get(Order, "XH2611050004").status == "paid"
        assert counts(session)["Customer"] == 5


def test_reset_restores_a_database_made_before_migrations(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    Base.metadata.create_all(engine_for(url))  # as the product made it before migrations
    with session_scope(engine_for(url)) as session:
        seed(session, load_demo_data(), now=NOW)
        session.get(Order, "XH2611050004").status = "cancelled"
    assert main(["--reset"]) == 0
    with session_scope(engine_for(url)) as session:
        assert session.get(Order, "XH2611050004").status == "paid"
