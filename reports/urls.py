from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("", views.report_page, name="report-page"),
    # Listed before the table pattern, which would also match "orders".
    path("orders.csv", views.order_csv, name="order-csv"),
    path("<slug:table>.csv", views.report_csv, name="report-csv"),
]
