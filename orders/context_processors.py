from typing import Any

from django.conf import settings
from django.http import HttpRequest


def zincdash(request: HttpRequest) -> dict[str, Any]:
    """Expose the sandbox flag to every template, for the sandbox banner."""
    return {"sandbox_mode": settings.SANDBOX_MODE}
