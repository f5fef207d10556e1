from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def order_list(request: HttpRequest) -> HttpResponse:
    return render(request, "orders/order_list.html", {})


@login_required
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "orders/order_detail.html", {})
