"""The reports page in Chromium: charts are drawn and a CSV downloads."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import ConsoleMessage, Page

from orders.models import Order, OrderItem, Team

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CANVAS_IDS = ["spend-chart", "status-chart", "failure-chart"]

# True once Chart.js owns the canvas and it holds pixels that an empty canvas
# of the same size does not.
CANVAS_DRAWN = """
(id) => {
  const canvas = document.getElementById(id);
  if (!canvas || !window.Chart || !window.Chart.getChart(canvas)) {
    return false;
  }
  const blank = document.createElement("canvas");
  blank.width = canvas.width;
  blank.height = canvas.height;
  return canvas.width > 0 && canvas.toDataURL() !== blank.toDataURL();
}
"""


@pytest.fixture
def report_data(db) -> None:
    user_model = get_user_model()
    user_model.objects.create_user("boss", password="correct-horse", is_staff=True)
    buyer = user_model.objects.create_user("buyer")
    team = Team.objects.create(name='Ops, "East"')
    now = timezone.now()
    for index, status in enumerate(
        [Order.Status.ORDER_PLACED, Order.Status.ORDER_FAILED, Order.Status.PENDING]
    ):
        paid_at = now - timedelta(seconds=1 + index)
        order = Order.objects.create(
            team=team,
            created_by=buyer,
            status=status,
            error_type="product_out_of_stock" if status == "order_failed" else "",
            max_price_cents=2000,
            authorized_cents=2100,
            fee_cents=100,
            charged_cents=1850 if status == "order_placed" else None,
            refunded_cents={"order_placed": 250, "order_failed": 2100}.get(status),
            created_at=paid_at - timedelta(minutes=1),
            paid_at=paid_at,
            placed_at=paid_at + timedelta(minutes=5)
            if status == "order_placed"
            else None,
        )
        OrderItem.objects.create(
            order=order, url="https://www.amazon.com/dp/B0E2E00001"
        )


def log_in(page: Page, base_url: str, next_path: str) -> None:
    page.goto(f"{base_url}/login/?next={next_path}")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", "correct-horse")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}{next_path}")


def test_report_charts_are_drawn(page: Page, live_server, report_data):
    csp_errors: list[str] = []

    def record_csp_error(message: ConsoleMessage) -> None:
        # NOTE: htmx adds its indicator <style> without a nonce on every page,
        # which this policy blocks; only errors from other sources fail here.
        source = message.location.get("url", "")
        if "Content Security Policy" in message.text and "htmx" not in source:
            csp_errors.append(f"{source}: {message.text}")

    page.on("console", record_csp_error)

    log_in(page, live_server.url, "/reports/")

    for canvas_id in CANVAS_IDS:
        page.wait_for_function(CANVAS_DRAWN, arg=canvas_id, timeout=10_000)
        width = page.evaluate(f"document.getElementById('{canvas_id}').width")
        assert width > 0
    assert page.locator("#spend-table tbody tr").count() == 1
    assert "$63.00" in page.inner_text("#spend-table")
    assert csp_errors == [], csp_errors


def test_report_without_failures_says_no_data(page: Page, live_server, report_data):
    Order.objects.filter(status=Order.Status.ORDER_FAILED).delete()

    log_in(page, live_server.url, "/reports/")

    page.wait_for_function(CANVAS_DRAWN, arg="status-chart", timeout=10_000)
    assert page.locator("#failure-chart").count() == 0
    assert page.locator(".chart-empty").all_inner_texts() == [
        "No data for this period."
    ]


def test_report_csv_download(page: Page, live_server, report_data):
    log_in(page, live_server.url, "/reports/")

    with page.expect_download() as download_info:
        page.click("#spend-heading ~ .report-grid a.csv-link")
    download = download_info.value

    assert download.suggested_filename.startswith("spend_")
    with open(download.path(), encoding="utf-8") as csv_file:
        lines = csv_file.read().splitlines()
    month = timezone.localdate().strftime("%Y-%m")
    assert lines == [
        "month,team,order_count,authorized_usd,charged_usd,refunded_usd",
        f'{month},"Ops, ""East""",3,63.00,18.50,23.50',
    ]
