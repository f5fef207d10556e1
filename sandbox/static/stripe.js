/*
 * Sandbox stand-in for the part of Stripe.js that ZincDash's checkout page uses:
 * Stripe(key), stripe.elements(...), the "payment" element, elements.submit(),
 * stripe.createPaymentMethod({elements}) and stripe.handleNextAction({clientSecret}).
 *
 * It renders a plain card form in the host page (real Stripe.js uses iframes) and
 * talks only to the origin it was loaded from, which is the sandbox's Stripe port.
 * All styling goes through element.style (CSSOM), which a Content-Security-Policy
 * without 'unsafe-inline' still allows, so no <style> element is injected.
 */
(function () {
  "use strict";

  var currentScript = document.currentScript;
  var API_ORIGIN = currentScript
    ? new URL(currentScript.src, window.location.href).origin
    : window.location.origin;
  var nextFieldId = 1;

  function IntegrationError(message) {
    var error = new Error(message);
    error.name = "IntegrationError";
    return error;
  }

  function css(element, styles) {
    Object.keys(styles).forEach(function (name) {
      element.style.setProperty(name, styles[name]);
    });
    return element;
  }

  function make(tag, attributes, styles) {
    var element = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      element.setAttribute(name, attributes[name]);
    });
    return css(element, styles || {});
  }

  function digitsOf(value) {
    return value.replace(/\D/g, "");
  }

  function luhnValid(number) {
    var total = 0;
    for (var index = 0; index < number.length; index += 1) {
      var digit = Number(number[number.length - 1 - index]);
      if (index % 2 === 1) {
        digit *= 2;
        if (digit > 9) {
          digit -= 9;
        }
      }
      total += digit;
    }
    return total % 10 === 0;
  }

  function encodeForm(params) {
    return Object.keys(params)
      .filter(function (name) {
        return params[name] !== undefined && params[name] !== null;
      })
      .map(function (name) {
        return encodeURIComponent(name) + "=" + encodeURIComponent(String(params[name]));
      })
      .join("&");
  }

  // A form-encoded POST without custom headers is a CORS "simple request", so the
  // browser sends no preflight; the publishable key travels as the "key" field.
  async function postForm(path, params) {
    var response;
    try {
      response = await fetch(API_ORIGIN + path, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: encodeForm(params),
      });
    } catch (networkError) {
      return {
        error: {
          type: "api_connection_error",
          message: "Could not reach the Stripe sandbox at " + API_ORIGIN + ".",
        },
      };
    }
    var body = await response.json();
    if (!response.ok) {
      return { error: body.error || { type: "api_error", message: "Request failed." } };
    }
    return { data: body };
  }

  // Card field checks, with the messages Stripe.js shows for the same mistakes.
  function validateCard(values, now) {
    var errors = {};
    var number = digitsOf(values.number);
    if (!number) {
      errors.number = "Your card number is incomplete.";
    } else if (number.length < 12 || number.length > 19 || !luhnValid(number)) {
      errors.number = "Your card number is invalid.";
    }
    var expiry = values.expiry.match(/^\s*(\d{1,2})\s*\/\s*(\d{2}|\d{4})\s*$/);
    if (!expiry) {
      errors.expiry = "Your card's expiration date is incomplete.";
    } else {
      var month = Number(expiry[1]);
      var year = Number(expiry[2]);
      if (year < 100) {
        year += 2000;
      }
      var currentYear = now.getFullYear();
      var currentMonth = now.getMonth() + 1;
      if (month < 1 || month > 12) {
        errors.expiry = "Your card's expiration month is invalid.";
      } else if (year < currentYear || (year === currentYear && month < currentMonth)) {
        errors.expiry = "Your card's expiration date is in the past.";
      }
    }
    if (!/^\d{3,4}$/.test(values.cvc.trim())) {
      errors.cvc = "Your card's security code is incomplete.";
    }
    return errors;
  }

  function formatCardNumber(value) {
    return digitsOf(value)
      .slice(0, 19)
      .replace(/(\d{4})(?=\d)/g, "$1 ");
  }

  function formatExpiry(value) {
    var digits = digitsOf(value).slice(0, 4);
    if (digits.length <= 2) {
      return digits;
    }
    return digits.slice(0, 2) + " / " + digits.slice(2);
  }

  function PaymentElement(elements, options) {
    this._elements = elements;
    this._options = options || {};
    this._handlers = { change: [], ready: [], focus: [], blur: [] };
    this._root = null;
    this._inputs = null;
    this._errorText = null;
    this._destroyed = false;
  }

  PaymentElement.prototype.on = function (eventName, handler) {
    if (!this._handlers[eventName]) {
      this._handlers[eventName] = [];
    }
    this._handlers[eventName].push(handler);
    return this;
  };

  PaymentElement.prototype.off = function (eventName, handler) {
    var handlers = this._handlers[eventName] || [];
    this._handlers[eventName] = handlers.filter(function (h) {
      return h !== handler;
    });
    return this;
  };

  PaymentElement.prototype._emit = function (eventName, payload) {
    (this._handlers[eventName] || []).forEach(function (handler) {
      handler(payload);
    });
  };

  PaymentElement.prototype._field = function (labelText, name, attributes) {
    var id = "sandbox-stripe-" + name + "-" + nextFieldId;
    nextFieldId += 1;
    var wrapper = make("div", {}, { display: "flex", "flex-direction": "column", flex: "1" });
    var label = make("label", { for: id }, { "font-size": "0.9em", "margin-bottom": "4px" });
    label.textContent = labelText;
    var input = make(
      "input",
      Object.assign({ id: id, name: name, type: "text", spellcheck: "false" }, attributes),
      {
        padding: "8px",
        border: "1px solid #8a8f98",
        "border-radius": "4px",
        font: "inherit",
      }
    );
    wrapper.appendChild(label);
    wrapper.appendChild(input);
    return { wrapper: wrapper, input: input };
  };

  PaymentElement.prototype.mount = function (target) {
    if (this._destroyed) {
      throw IntegrationError("This Element has been destroyed and cannot be mounted.");
    }
    var container = typeof target === "string" ? document.querySelector(target) : target;
    if (!container) {
      throw IntegrationError("The selector " + target + " matched no element.");
    }
    if (this._root) {
      this.unmount();
    }
    var element = this;
    var root = make(
      "div",
      { class: "sandbox-payment-element", "data-sandbox-stripe": "payment" },
      { display: "flex", "flex-direction": "column", gap: "10px" }
    );
    var note = make("p", {}, { margin: "0", "font-size": "0.85em", color: "#5c6370" });
    note.textContent = "Sandbox card form \u2014 test cards only";
    var errorId = "sandbox-stripe-error-" + nextFieldId;
    var number = this._field("Card number", "cardnumber", {
      autocomplete: "cc-number",
      inputmode: "numeric",
      placeholder: "1234 1234 1234 1234",
      "aria-describedby": errorId,
    });
    var row = make("div", {}, { display: "flex", gap: "10px" });
    var expiry = this._field("Expiry MM / YY", "exp-date", {
      autocomplete: "cc-exp",
      inputmode: "numeric",
      placeholder: "MM / YY",
      "aria-describedby": errorId,
    });
    var cvc = this._field("CVC", "cvc", {
      autocomplete: "cc-csc",
      inputmode: "numeric",
      placeholder: "CVC",
      maxlength: "4",
      "aria-describedby": errorId,
    });
    var errorText = make(
      "p",
      { id: errorId, role: "alert", "aria-live": "polite" },
      { margin: "0", color: "#b3261e", "font-size": "0.9em", "min-height": "1.2em" }
    );
    row.appendChild(expiry.wrapper);
    row.appendChild(cvc.wrapper);
    root.appendChild(note);
    root.appendChild(number.wrapper);
    root.appendChild(row);
    root.appendChild(errorText);
    container.appendChild(root);

    this._root = root;
    this._inputs = { number: number.input, expiry: expiry.input, cvc: cvc.input };
    this._errorText = errorText;

    number.input.addEventListener("input", function () {
      number.input.value = formatCardNumber(number.input.value);
    });
    expiry.input.addEventListener("input", function () {
      expiry.input.value = formatExpiry(expiry.input.value);
    });
    Object.keys(this._inputs).forEach(function (key) {
      var input = element._inputs[key];
      input.addEventListener("input", function () {
        element._elements._submitted = false;
        element._clearError(key);
        element._emit("change", element._changeEvent());
      });
      input.addEventListener("focus", function () {
        css(input, { "border-color": "#1a73e8", outline: "2px solid #1a73e8" });
        element._emit("focus", { elementType: "payment" });
      });
      input.addEventListener("blur", function () {
        css(input, { "border-color": "#8a8f98", outline: "none" });
        element._emit("blur", { elementType: "payment" });
      });
    });
    setTimeout(function () {
      element._emit("ready", { elementType: "payment" });
    }, 0);
  };

  PaymentElement.prototype._values = function () {
    return {
      number: this._inputs.number.value,
      expiry: this._inputs.expiry.value,
      cvc: this._inputs.cvc.value,
    };
  };

  PaymentElement.prototype._changeEvent = function () {
    var values = this._values();
    var empty = !values.number && !values.expiry && !values.cvc;
    var errors = validateCard(values, new Date());
    return {
      elementType: "payment",
      empty: empty,
      complete: Object.keys(errors).length === 0,
      collapsed: false,
      value: { type: "card" },
    };
  };

  PaymentElement.prototype._clearError = function (key) {
    this._inputs[key].removeAttribute("aria-invalid");
    this._errorText.textContent = "";
  };

  PaymentElement.prototype._showErrors = function (errors) {
    var element = this;
    var keys = Object.keys(errors);
    Object.keys(this._inputs).forEach(function (key) {
      if (errors[key]) {
        element._inputs[key].setAttribute("aria-invalid", "true");
      } else {
        element._inputs[key].removeAttribute("aria-invalid");
      }
    });
    this._errorText.textContent = keys.length ? errors[keys[0]] : "";
    if (keys.length) {
      this._inputs[keys[0]].focus();
    }
  };

  PaymentElement.prototype.update = function (options) {
    Object.assign(this._options, options || {});
  };

  PaymentElement.prototype.focus = function () {
    if (this._inputs) {
      this._inputs.number.focus();
    }
  };

  PaymentElement.prototype.clear = function () {
    var element = this;
    if (!this._inputs) {
      return;
    }
    Object.keys(this._inputs).forEach(function (key) {
      element._inputs[key].value = "";
      element._clearError(key);
    });
  };

  PaymentElement.prototype.unmount = function () {
    if (this._root && this._root.parentNode) {
      this._root.parentNode.removeChild(this._root);
    }
    this._root = null;
    this._inputs = null;
    this._errorText = null;
  };

  PaymentElement.prototype.destroy = function () {
    this.unmount();
    this._destroyed = true;
    this._elements._paymentElement = null;
  };

  function Elements(stripe, options) {
    options = options || {};
    if (options.mode && options.mode !== "payment") {
      throw IntegrationError("The sandbox supports only elements({mode: 'payment'}).");
    }
    if (options.mode === "payment" && (!options.amount || !options.currency)) {
      throw IntegrationError("elements({mode: 'payment'}) needs amount and currency.");
    }
    this._stripe = stripe;
    this._options = Object.assign({}, options);
    this._paymentElement = null;
    this._submitted = false;
  }

  Elements.prototype.create = function (type, options) {
    if (type !== "payment") {
      throw IntegrationError("The sandbox supports only elements.create('payment').");
    }
    if (this._paymentElement) {
      throw IntegrationError("Only one payment Element can exist per elements group.");
    }
    this._paymentElement = new PaymentElement(this, options);
    return this._paymentElement;
  };

  Elements.prototype.getElement = function (type) {
    return type === "payment" ? this._paymentElement : null;
  };

  Elements.prototype.update = function (options) {
    Object.assign(this._options, options || {});
  };

  Elements.prototype.submit = async function () {
    var element = this._paymentElement;
    if (!element || !element._inputs) {
      return {
        error: {
          type: "validation_error",
          message: "Mount the payment Element before calling elements.submit().",
        },
      };
    }
    var errors = validateCard(element._values(), new Date());
    element._showErrors(errors);
    var keys = Object.keys(errors);
    if (keys.length) {
      this._submitted = false;
      return { error: { type: "validation_error", message: errors[keys[0]] } };
    }
    this._submitted = true;
    return {};
  };

  function StripeSandbox(publishableKey, options) {
    if (typeof publishableKey !== "string" || publishableKey.indexOf("pk_") !== 0) {
      throw IntegrationError("Stripe() needs a publishable key that starts with pk_.");
    }
    this._key = publishableKey;
    this._options = options || {};
  }

  StripeSandbox.prototype.elements = function (options) {
    return new Elements(this, options);
  };

  StripeSandbox.prototype.createPaymentMethod = async function (request) {
    var elements = request && request.elements;
    if (!(elements instanceof Elements)) {
      return {
        error: {
          type: "invalid_request_error",
          message: "The sandbox supports only createPaymentMethod({elements}).",
        },
      };
    }
    if (elements._options.paymentMethodCreation !== "manual") {
      return {
        error: {
          type: "invalid_request_error",
          message: "elements() needs paymentMethodCreation: 'manual' for createPaymentMethod.",
        },
      };
    }
    if (!elements._submitted) {
      return {
        error: {
          type: "invalid_request_error",
          message: "Call elements.submit() before stripe.createPaymentMethod().",
        },
      };
    }
    var values = elements._paymentElement._values();
    var expiry = values.expiry.match(/(\d{1,2})\s*\/\s*(\d{2,4})/);
    var form = {
      key: this._key,
      type: "card",
      "card[number]": digitsOf(values.number),
      "card[exp_month]": expiry[1],
      "card[exp_year]": expiry[2],
      "card[cvc]": values.cvc.trim(),
    };
    var billing = (request.params && request.params.billing_details) || {};
    ["name", "email", "phone"].forEach(function (field) {
      if (billing[field]) {
        form["billing_details[" + field + "]"] = billing[field];
      }
    });
    var result = await postForm("/v1/payment_methods", form);
    if (result.error) {
      elements._paymentElement._errorText.textContent = result.error.message || "";
      return { error: result.error };
    }
    return { paymentMethod: result.data };
  };

  // Modal standing in for the bank's 3-D Secure page; resolves true or false.
  function askForAuthentication() {
    return new Promise(function (resolve) {
      var previousFocus = document.activeElement;
      var overlay = make("div", { "data-sandbox-stripe": "3ds-overlay" }, {
        position: "fixed",
        inset: "0",
        background: "rgba(0, 0, 0, 0.5)",
        display: "flex",
        "align-items": "center",
        "justify-content": "center",
        "z-index": "2147483647",
      });
      var dialog = make(
        "div",
        {
          role: "dialog",
          "aria-modal": "true",
          "aria-labelledby": "sandbox-stripe-3ds-title",
          "aria-describedby": "sandbox-stripe-3ds-text",
        },
        {
          background: "#ffffff",
          color: "#1f2328",
          padding: "24px",
          "border-radius": "8px",
          "max-width": "360px",
          "font-family": "system-ui, sans-serif",
        }
      );
      var title = make("h2", { id: "sandbox-stripe-3ds-title" }, { "margin-top": "0" });
      title.textContent = "Sandbox 3-D Secure check";
      var text = make("p", { id: "sandbox-stripe-3ds-text" }, {});
      text.textContent =
        "Your bank would ask you to confirm this payment here. Choose an outcome.";
      var buttons = make("div", {}, { display: "flex", gap: "8px" });
      var complete = make("button", { type: "button" }, { padding: "8px 12px" });
      complete.textContent = "Complete authentication";
      var fail = make("button", { type: "button" }, { padding: "8px 12px" });
      fail.textContent = "Fail authentication";
      buttons.appendChild(complete);
      buttons.appendChild(fail);
      dialog.appendChild(title);
      dialog.appendChild(text);
      dialog.appendChild(buttons);
      overlay.appendChild(dialog);
      document.body.appendChild(overlay);

      function close(succeeded) {
        document.removeEventListener("keydown", onKeyDown, true);
        overlay.parentNode.removeChild(overlay);
        if (previousFocus && typeof previousFocus.focus === "function") {
          previousFocus.focus();
        }
        resolve(succeeded);
      }

      // Keep Tab inside the dialog, and treat Escape as a failed check.
      function onKeyDown(event) {
        if (event.key === "Escape") {
          event.preventDefault();
          close(false);
        } else if (event.key === "Tab") {
          event.preventDefault();
          (document.activeElement === complete ? fail : complete).focus();
        }
      }

      complete.addEventListener("click", function () {
        close(true);
      });
      fail.addEventListener("click", function () {
        close(false);
      });
      document.addEventListener("keydown", onKeyDown, true);
      complete.focus();
    });
  }

  StripeSandbox.prototype.handleNextAction = async function (request) {
    var clientSecret = request && request.clientSecret;
    if (typeof clientSecret !== "string" || clientSecret.indexOf("_secret_") < 0) {
      return {
        error: {
          type: "invalid_request_error",
          message: "handleNextAction needs the token's clientSecret.",
        },
      };
    }
    var tokenId = clientSecret.split("_secret_")[0];
    var succeeded = await askForAuthentication();
    var result = await postForm(
      "/v1/shared_payment/issued_tokens/" + encodeURIComponent(tokenId) + "/confirm_action",
      { key: this._key, client_secret: clientSecret, result: succeeded ? "success" : "fail" }
    );
    if (result.error) {
      return { error: result.error };
    }
    if (!succeeded) {
      return {
        error: {
          type: "card_error",
          code: "payment_intent_authentication_failure",
          message: "We are unable to authenticate your payment method.",
        },
      };
    }
    return {};
  };

  window.Stripe = function (publishableKey, options) {
    return new StripeSandbox(publishableKey, options);
  };
  window.Stripe.version = "sandbox";
})();
