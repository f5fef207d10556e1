"""Forms for addresses, product lists and the order composer.

Rows that the user can add and remove (item lines, variant pairs) are posted as
parallel lists (``item_url``, ``item_quantity``...), so that the "add another"
and "remove" submit buttons work without JavaScript.
"""

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict

from orders.countries import CA_PROVINCES, COUNTRIES, US_STATES, country_choices
from orders.models import MAX_QUANTITY, Address, Order, ProductList
from orders.retailers import Retailer, retailer_for_url
from orders.services.compose import ComposeError, ItemSpec, check_single_retailer

logger = logging.getLogger(__name__)

# --- money -------------------------------------------------------------------

# Digits with optional thousands separators ("1,200") or none ("1200").
# re.ASCII keeps \d to 0-9, so "٥٠" or full-width digits are not read as 50.
_DOLLARS_RE = re.compile(
    r"^(?P<whole>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<fraction>\d+))?$", re.ASCII
)
# Order.max_price_cents is a PositiveIntegerField, a signed 32-bit column.
MAX_PRICE_LIMIT_CENTS = 2_147_483_647


def parse_dollars(text: str) -> int:
    """Parse a dollar amount such as "49.99", "$1,200" or "1200" into cents.

    Raises ValidationError for more than 2 decimal places, a negative or zero
    amount, malformed thousands separators and anything that is not a number.
    """
    value = text.strip()
    if not value:
        raise ValidationError(
            "Enter the max price in dollars, for example 49.99.", code="required"
        )
    unsigned = value.replace("$", "", 1).strip() if value.startswith("$") else value
    if unsigned.startswith("-") or value.startswith("-"):
        raise ValidationError("The max price cannot be negative.", code="negative")
    match = _DOLLARS_RE.fullmatch(unsigned)
    if match is None:
        raise ValidationError(
            f"“{value}” is not a dollar amount. Enter it like 49.99 or $1,200.",
            code="invalid",
        )
    fraction = match["fraction"] or ""
    if len(fraction) > 2:
        raise ValidationError(
            "Enter the max price with at most 2 decimal places.",
            code="max_decimal_places",
        )
    amount = Decimal(f"{match['whole'].replace(',', '')}.{fraction or '0'}")
    cents = int(amount * 100)
    if cents == 0:
        raise ValidationError("The max price must be more than zero.", code="zero")
    if cents > MAX_PRICE_LIMIT_CENTS:
        raise ValidationError(
            "The max price is too large; enter at most $21,474,836.47.",
            code="too_large",
        )
    return cents


def format_dollars(cents: int) -> str:
    """Format cents for a form input: 4999 becomes "49.99", without a "$" sign."""
    return f"{Decimal(cents).scaleb(-2):.2f}"


# --- addresses ---------------------------------------------------------------

US_ZIP_RE = re.compile(r"^(\d{5})-?(\d{4})?$")
# Canada Post: letter digit letter, digit letter digit. D, F, I, O, Q and U are
# never used, and W and Z never start a code.
CA_POSTAL_RE = re.compile(
    r"^([ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z])(\d[ABCEGHJ-NPRSTV-Z]\d)$"
)
# Royal Mail outward code (area, district) and inward code (sector, unit),
# checked without spaces. GIR 0AA is Girobank's historic special case.
GB_POSTCODE_RE = re.compile(
    r"^(GIR0AA|[A-PR-UWYZ](?:\d{1,2}|[A-HK-Y]\d{1,2}|\d[A-HJKPSTUW]"
    r"|[A-HK-Y]\d[ABEHMNPRVWXY])\d[ABD-HJLNP-UW-Z]{2})$"
)
DE_POSTAL_RE = re.compile(r"^\d{5}$")
OTHER_POSTAL_RE = re.compile(r"^[A-Z0-9][A-Z0-9 -]{1,18}$")
# Countries of the North American Numbering Plan that addresses here use.
NANP_COUNTRIES = frozenset({"US", "CA", "PR", "GU", "VI", "AS", "MP"})
PHONE_SEPARATORS_RE = re.compile(r"[\s().\-/]")


def normalize_postal_code(country: str, raw: str) -> str:
    """Return the postal code in its country's usual form or raise ValidationError."""
    value = raw.strip().upper()
    compact = re.sub(r"\s+", "", value)
    if country == "US":
        match = US_ZIP_RE.fullmatch(compact)
        if match is None:
            raise ValidationError(
                "Enter a US ZIP code as 12345 or 12345-6789.", code="invalid_zip"
            )
        return match[1] if match[2] is None else f"{match[1]}-{match[2]}"
    if country == "CA":
        match = CA_POSTAL_RE.fullmatch(compact)
        if match is None:
            raise ValidationError(
                "Enter a Canadian postal code as A1A 1A1.", code="invalid_postal_code"
            )
        return f"{match[1]} {match[2]}"
    if country == "GB":
        if GB_POSTCODE_RE.fullmatch(compact) is None:
            raise ValidationError(
                "Enter a UK postcode such as SW1A 1AA.", code="invalid_postal_code"
            )
        return f"{compact[:-3]} {compact[-3:]}"
    if country == "DE":
        if DE_POSTAL_RE.fullmatch(compact) is None:
            raise ValidationError(
                "Enter a German postal code of 5 digits, such as 10115.",
                code="invalid_postal_code",
            )
        return compact
    if OTHER_POSTAL_RE.fullmatch(value) is None:
        raise ValidationError(
            "Enter the postal code using letters, digits, spaces and dashes.",
            code="invalid_postal_code",
        )
    return value


def normalize_phone(country: str, raw: str) -> str:
    """Return the phone number as "+" and digits (E.164 style) or raise ValidationError.

    A 10-digit number in a North American Numbering Plan country gets +1; any
    other number must carry its country code, written as +CC or 00CC.
    """
    compact = PHONE_SEPARATORS_RE.sub("", raw.strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not re.fullmatch(r"\+?\d+", compact):
        raise ValidationError(
            "Enter the phone number with digits, spaces, dashes or brackets, "
            "and an optional leading +.",
            code="invalid_phone",
        )
    if compact.startswith("+"):
        digits = compact[1:]
        if country in NANP_COUNTRIES and digits.startswith("1") and len(digits) != 11:
            raise ValidationError(
                "A +1 phone number has 10 digits after the +1.", code="invalid_phone"
            )
        if not 7 <= len(digits) <= 15:
            raise ValidationError(
                "A phone number with its country code has 7 to 15 digits.",
                code="invalid_phone",
            )
        return "+" + digits
    if country in NANP_COUNTRIES:
        if len(compact) == 10:
            return "+1" + compact
        if len(compact) == 11 and compact.startswith("1"):
            return "+" + compact
        raise ValidationError(
            "Enter a 10-digit phone number, such as 415 555 0100.",
            code="invalid_phone",
        )
    raise ValidationError(
        "Enter the phone number with its country code, such as +44 20 7946 0000.",
        code="invalid_phone",
    )


def normalize_region(country: str, raw: str) -> str:
    """Return the state or province code, or raise ValidationError.

    US states and Canadian provinces are required as two-letter codes, and a
    full name such as "California" becomes its code. Elsewhere the field is
    optional free text.
    """
    value = raw.strip()
    if country == "US":
        return _region_code(
            value,
            US_STATES,
            "Enter the state as a two-letter USPS code, such as CA or NY.",
        )
    if country == "CA":
        return _region_code(
            value,
            CA_PROVINCES,
            "Enter the province as a two-letter code, such as ON or QC.",
        )
    return value


def _region_code(value: str, codes: dict[str, str], message: str) -> str:
    if not value:
        raise ValidationError(message, code="required")
    if value.upper() in codes:
        return value.upper()
    for code, name in codes.items():
        if name.casefold() == value.casefold():
            return code
    raise ValidationError(
        f"“{value}” is not a valid code. {message}", code="invalid_region"
    )


def _required(message: str) -> dict[str, str]:
    return {"required": message}


class AddressForm(forms.ModelForm):
    country = forms.ChoiceField(
        choices=country_choices,
        initial="US",
        error_messages={
            "required": "Choose the country.",
            "invalid_choice": "Choose a country from the list.",
        },
    )

    class Meta:
        model = Address
        fields = [
            "label",
            "first_name",
            "last_name",
            "address_line1",
            "address_line2",
            "city",
            "state",
            "postal_code",
            "country",
            "phone_number",
        ]
        labels = {
            "label": "Label",
            "address_line1": "Address line 1",
            "address_line2": "Address line 2",
            "state": "State or province",
            "postal_code": "Postal code",
            "phone_number": "Phone number",
        }
        help_texts = {
            "label": "Optional short name, such as “Warehouse” or “Berlin office”.",
            "address_line2": "Apartment, suite, floor (optional).",
            "state": "Two-letter code for the US (CA, NY…) and Canada (ON, QC…).",
            "phone_number": "The carrier may call this number. Include the country "
            "code outside the US and Canada.",
        }
        error_messages = {
            "first_name": _required("Enter the recipient's first name."),
            "last_name": _required("Enter the recipient's last name."),
            "address_line1": _required("Enter the street address."),
            "city": _required("Enter the city."),
            "postal_code": _required("Enter the postal code."),
            "phone_number": _required("Enter a phone number."),
        }
        widgets = {
            "first_name": forms.TextInput(attrs={"autocomplete": "given-name"}),
            "last_name": forms.TextInput(attrs={"autocomplete": "family-name"}),
            "address_line1": forms.TextInput(attrs={"autocomplete": "address-line1"}),
            "address_line2": forms.TextInput(attrs={"autocomplete": "address-line2"}),
            "city": forms.TextInput(attrs={"autocomplete": "address-level2"}),
            "state": forms.TextInput(attrs={"autocomplete": "address-level1"}),
            "postal_code": forms.TextInput(attrs={"autocomplete": "postal-code"}),
            "phone_number": forms.TextInput(attrs={"autocomplete": "tel"}),
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        country = cleaned.get("country")
        if country not in COUNTRIES:
            return cleaned
        normalizers = {
            "state": normalize_region,
            "postal_code": normalize_postal_code,
            "phone_number": normalize_phone,
        }
        for name, normalize in normalizers.items():
            if name not in cleaned:
                continue
            if name != "state" and not cleaned[name]:
                continue
            try:
                cleaned[name] = normalize(country, cleaned[name] or "")
            except ValidationError as error:
                self.add_error(name, error)
        return cleaned

    def has_input(self) -> bool:
        """True when the user typed into any required field of this bound form."""
        names = ["first_name", "last_name", "address_line1", "city", "postal_code"]
        return any(self.data.get(self.add_prefix(name), "").strip() for name in names)


def address_field_label(name: str) -> str:
    """Return the form label of an address field, for errors that name it."""
    labels = AddressForm.Meta.labels
    if name in labels:
        return labels[name]
    return name.replace("_", " ").capitalize()


# --- product lists -----------------------------------------------------------


class ProductListForm(forms.ModelForm):
    class Meta:
        model = ProductList
        fields = ["name", "description"]
        error_messages = {"name": _required("Enter a name for the list.")}
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, team: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.team = team

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        duplicates = ProductList.objects.filter(team=self.team, name__iexact=name)
        if self.instance.pk:
            duplicates = duplicates.exclude(pk=self.instance.pk)
        if duplicates.exists():
            raise ValidationError(
                f"Your team already has a product list named “{name}”.",
                code="duplicate",
            )
        return name


@dataclass
class VariantRow:
    """One label/value pair of a product variant, as typed in the form."""

    label: str = ""
    value: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def is_blank(self) -> bool:
        return not self.label.strip() and not self.value.strip()


def variant_rows_from_data(data: QueryDict) -> list[VariantRow]:
    labels = data.getlist("variant_label")
    values = data.getlist("variant_value")
    count = max(len(labels), len(values))
    labels += [""] * (count - len(labels))
    values += [""] * (count - len(values))
    return [
        VariantRow(label, value) for label, value in zip(labels, values, strict=True)
    ]


def variant_rows_from_list(variants: Iterable[dict[str, str]]) -> list[VariantRow]:
    return [VariantRow(v.get("label", ""), v.get("value", "")) for v in variants]


def clean_variant_rows(rows: list[VariantRow]) -> list[dict[str, str]]:
    """Return the filled-in rows as {"label", "value"} dicts, marking incomplete rows.

    Raises ValidationError when a row has only one of its two parts.
    """
    variants = []
    for row in rows:
        row.errors = []
        if row.is_blank:
            continue
        if not row.label.strip():
            row.errors.append("Enter the variant's label, such as Size.")
        if not row.value.strip():
            row.errors.append("Enter the variant's value, such as M.")
        variants.append({"label": row.label.strip(), "value": row.value.strip()})
    if any(row.errors for row in rows):
        raise ValidationError(
            "Each variant needs both a label and a value.", code="incomplete_variant"
        )
    return variants


def quantity_field() -> forms.IntegerField:
    message = f"Enter a quantity from 1 to {MAX_QUANTITY}."
    return forms.IntegerField(
        min_value=1,
        max_value=MAX_QUANTITY,
        initial=1,
        error_messages={
            "required": message,
            "invalid": message,
            "min_value": message,
            "max_value": message,
        },
    )


def url_field() -> forms.URLField:
    return forms.URLField(
        label="Product URL",
        max_length=2000,
        assume_scheme="https",
        help_text="The product's own page at the retailer, not a search page.",
        error_messages={
            "required": "Enter the product's URL.",
            "invalid": "Enter a full product URL, such as https://www.amazon.com/dp/….",
        },
    )


class ProductListItemForm(forms.Form):
    url = url_field()
    quantity = quantity_field()

    def __init__(
        self,
        *args: Any,
        variant_rows: list[VariantRow] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if variant_rows is not None:
            self.variant_rows = variant_rows
        elif self.is_bound:
            self.variant_rows = variant_rows_from_data(self.data)
        else:
            self.variant_rows = variant_rows_from_list(
                self.initial.get("variants") or []
            )
        if not self.variant_rows:
            self.variant_rows = [VariantRow()]

    @property
    def retailer(self) -> Retailer | None:
        url = self.data.get("url") if self.is_bound else self.initial.get("url")
        return retailer_for_url(url) if url else None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        try:
            cleaned["variants"] = clean_variant_rows(self.variant_rows)
        except ValidationError as error:
            self.add_error(None, error)
        return cleaned


def apply_row_action(
    rows: list[Any], data: QueryDict, add_key: str, remove_key: str, new_row: Any
) -> bool:
    """Add or remove a row when the "add"/"remove" submit button was pressed.

    Returns False when neither button was pressed, so the form should be saved.
    """
    if add_key in data:
        rows.append(new_row())
        return True
    if remove_key in data:
        try:
            index = int(data[remove_key])
        except ValueError:
            return True
        if 0 <= index < len(rows):
            del rows[index]
        return True
    return False


# --- order composer ----------------------------------------------------------


def format_variants(variants: Iterable[dict[str, str]]) -> str:
    """Format variants for the composer's text input: "Color: Red; Size: M"."""
    return "; ".join(f"{v['label']}: {v['value']}" for v in variants)


def parse_variants(text: str) -> list[dict[str, str]]:
    """Parse "Color: Red; Size: M" into label/value dicts or raise ValidationError."""
    variants = []
    for part in re.split(r"[;\n]", text):
        if not part.strip():
            continue
        label, separator, value = part.partition(":")
        if not separator or not label.strip() or not value.strip():
            raise ValidationError(
                f"Write each variant as label: value, separated by semicolons "
                f"(“{part.strip()}” has no label or no value).",
                code="invalid_variant",
            )
        variants.append({"label": label.strip(), "value": value.strip()})
    return variants


@dataclass
class ItemRow:
    """One product line of the composer, as typed."""

    url: str = ""
    quantity: str = "1"
    variants: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def is_blank(self) -> bool:
        return not self.url.strip() and not self.variants.strip()

    @property
    def retailer(self) -> Retailer | None:
        return retailer_for_url(self.url) if self.url.strip() else None

    @property
    def has_errors(self) -> bool:
        return any(self.errors.values())

    def add_error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


def item_rows_from_data(data: QueryDict) -> list[ItemRow]:
    columns = [data.getlist(name) for name in ("item_url", "item_quantity")]
    columns.append(data.getlist("item_variants"))
    count = max(len(column) for column in columns)
    for column in columns:
        column += [""] * (count - len(column))
    return [
        ItemRow(url, quantity, variants)
        for url, quantity, variants in zip(*columns, strict=True)
    ]


def item_rows_from_items(items: Iterable[Any]) -> list[ItemRow]:
    """Build rows from OrderItem or ProductListItem objects."""
    return [
        ItemRow(item.url, str(item.quantity), format_variants(item.variants))
        for item in items
    ]


def clean_item_row(row: ItemRow) -> ItemSpec | None:
    """Validate one row and return its ItemSpec, or None after marking its errors."""
    row.errors = {}
    url = ""
    try:
        url = url_field().clean(row.url)
    except ValidationError as error:
        row.errors["url"] = list(error.messages)
    if url:
        retailer = retailer_for_url(url)
        if retailer is not None and not retailer.supported:
            row.add_error(
                "url",
                f"Zinc does not order from {retailer.name}. "
                "Choose a product from a supported retailer.",
            )
    quantity = 0
    try:
        quantity = quantity_field().clean(row.quantity)
    except ValidationError as error:
        row.errors["quantity"] = list(error.messages)
    variants: list[dict[str, str]] = []
    try:
        variants = parse_variants(row.variants)
    except ValidationError as error:
        row.errors["variants"] = list(error.messages)
    if row.has_errors:
        return None
    return ItemSpec(url=url, quantity=quantity, variants=variants)


class OrderComposeForm(forms.Form):
    address = forms.ModelChoiceField(
        queryset=Address.objects.none(),
        required=False,
        label="Saved address",
        empty_label="Choose a saved address…",
        error_messages={"invalid_choice": "Choose one of your team's addresses."},
    )
    product_list = forms.ModelChoiceField(
        queryset=ProductList.objects.none(),
        required=False,
        label="Product list",
        empty_label="No list",
        help_text="Press “Add the list's items” to copy them into the rows below. "
        "With no rows filled in, saving orders the whole list.",
        error_messages={"invalid_choice": "Choose one of your team's product lists."},
    )
    max_price = forms.CharField(
        label="Max price (USD)",
        max_length=32,
        help_text="Ceiling for items, tax and shipping, in dollars, such as 49.99. "
        "Zinc's fee is added on top.",
        error_messages={"required": "Enter the max price in dollars, such as 49.99."},
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    po_number = forms.CharField(
        label="PO number",
        max_length=64,
        required=False,
        help_text="Optional. Zinc types it into the retailer's PO field.",
    )
    note = forms.CharField(
        label="Note",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional internal note for your team.",
    )

    def __init__(
        self,
        *args: Any,
        team: Any,
        item_rows: list[ItemRow] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.team = team
        self.fields["address"].queryset = Address.objects.filter(team=team)
        self.fields["product_list"].queryset = ProductList.objects.filter(team=team)
        self.new_address_form = AddressForm(
            self.data if self.is_bound else None, prefix="new_address"
        )
        if not self.new_address_form.has_input():
            # Untouched, the inline address is optional: show it without errors.
            self.new_address_form = AddressForm(prefix="new_address")
        if item_rows is not None:
            self.item_rows = item_rows
        elif self.is_bound:
            self.item_rows = item_rows_from_data(self.data)
        else:
            self.item_rows = []
        if not self.item_rows:
            self.item_rows = [ItemRow()]
        self.items: list[ItemSpec] = []
        # Set by the view when an "add the list's items" press had no list.
        self.row_action_error = ""

    @classmethod
    def data_from_order(cls, order: Order) -> QueryDict:
        """Return form data that reproduces ``order``, for editing it."""
        data = QueryDict(mutable=True)
        data["address"] = str(order.address_id or "")
        data["max_price"] = format_dollars(order.max_price_cents)
        data["po_number"] = order.po_number
        data["note"] = order.note
        items = list(order.items.all())
        data.setlist("item_url", [item.url for item in items])
        data.setlist("item_quantity", [str(item.quantity) for item in items])
        data.setlist("item_variants", [format_variants(i.variants) for i in items])
        return data

    def clean_max_price(self) -> int:
        return parse_dollars(self.cleaned_data["max_price"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self._clean_address(cleaned)
        self._clean_items(cleaned)
        return cleaned

    def _clean_address(self, cleaned: dict[str, Any]) -> None:
        uses_new = self.new_address_form.has_input()
        if cleaned.get("address") and uses_new:
            self.add_error(
                "address",
                "Choose a saved address or enter a new one, not both. Clear the "
                "new address fields to use the saved address.",
            )
        elif not cleaned.get("address") and not uses_new and "address" in cleaned:
            self.add_error("address", "Choose a saved address or enter a new one.")
        elif uses_new and not self.new_address_form.is_valid():
            self.add_error(None, "Correct the errors in the new address.")

    def _clean_items(self, cleaned: dict[str, Any]) -> None:
        rows = [row for row in self.item_rows if not row.is_blank]
        product_list = cleaned.get("product_list")
        if not rows and product_list is not None:
            rows = item_rows_from_items(product_list.items.all())
            self.item_rows = rows or [ItemRow()]
        if not rows:
            self.add_error(None, "Add at least one item, or choose a product list.")
            return
        items = [clean_item_row(row) for row in rows]
        if any(item is None for item in items):
            self.add_error(None, "Correct the item rows marked below.")
            return
        self.items = [item for item in items if item is not None]
        try:
            check_single_retailer(self.items)
        except ComposeError as error:
            self.add_error(None, str(error))

    def save_new_address(self, user: Any) -> Address | None:
        """Save the inline new address for the team, when one was entered."""
        if not self.new_address_form.has_input():
            return None
        address = self.new_address_form.save(commit=False)
        address.team = self.team
        address.created_by = user
        address.save()
        return address

    def add_zinc_errors(self, field_errors: dict[str, list[str]]) -> None:
        """Show the field errors Zinc returned before payment next to our fields.

        Keys follow Zinc's request body: "max_price", "po_number", "__all__",
        "shipping_address[.<field>]" and "products.<index>.<url|quantity|variant>".
        """
        for key, messages in field_errors.items():
            for message in messages:
                self._add_zinc_error(key, message)

    def _add_zinc_error(self, key: str, message: str) -> None:
        if key in {"max_price", "po_number"}:
            self.add_error(key, message)
            return
        if key == "shipping_address" or key.startswith("shipping_address."):
            name = key.partition(".")[2]
            prefix = f"{address_field_label(name)}: " if name else ""
            self.add_error("address", f"{prefix}{message}")
            return
        match = re.fullmatch(r"products\.(\d+)\.(url|quantity|variant)", key)
        rows = [row for row in self.item_rows if not row.is_blank]
        if match and int(match[1]) < len(rows):
            column = "variants" if match[2] == "variant" else match[2]
            rows[int(match[1])].add_error(column, message)
            self.add_error(None, "Zinc rejected an item; see the rows below.")
            return
        self.add_error(None, message)
