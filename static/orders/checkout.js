// Checkout: pays the order's stored Stripe challenge with a Stripe Payment Element.
//
// The amount, currency and payment method types come from the server, in the
// json_script block "checkout-data". The browser sends back only the attempt id
// and the PaymentMethod id, so the server always pays its own stored challenge.
"use strict";

(function () {
  const dataElement = document.getElementById("checkout-data");
  if (!dataElement) {
    return;
  }
  const data = JSON.parse(dataElement.textContent);
  const form = document.getElementById("payment-form");
  const payButton = document.getElementById("pay-button");
  const refreshButton = document.getElementById("refresh-button");
  const messageBox = document.getElementById("payment-message");
  const amountText = document.getElementById("checkout-amount");
  const buttonAmountText = document.getElementById("pay-button-amount");
  const currencyText = document.getElementById("checkout-currency");
  const expiryText = document.getElementById("checkout-expiry");
  const noChallengeNotice = document.getElementById("no-challenge");
  // Stripe may ask for authentication more than once; stop after a few rounds.
  const MAX_ACTION_ROUNDS = 3;

  let attempt = data.attempt;
  let stripe = null;
  let elements = null;
  let busy = false;
  // Set once the order is paid or its payment outcome is unknown: never pay again.
  let finished = false;
  let countdown = null;

  function csrfToken() {
    const headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    return headers["x-csrftoken"] || "";
  }

  function formatAmount(amount, currency) {
    try {
      return new Intl.NumberFormat("en-US", {
        style: "currency",
        currency: currency.toUpperCase(),
      }).format(amount / 100);
    } catch (error) {
      return (amount / 100).toFixed(2) + " " + currency.toUpperCase();
    }
  }

  function isExpired(candidate) {
    return Boolean(candidate && candidate.expiresAt) &&
      Date.parse(candidate.expiresAt) <= Date.now();
  }

  function showMessage(text, kind, link) {
    messageBox.textContent = text;
    messageBox.className = "payment-message payment-message-" + kind;
    if (link) {
      messageBox.append(" ");
      const anchor = document.createElement("a");
      anchor.href = data.urls.order;
      anchor.textContent = link;
      messageBox.append(anchor);
    }
  }

  function updateButtons() {
    const payable = attempt && !isExpired(attempt) && elements;
    payButton.disabled = busy || finished || !payable;
    payButton.setAttribute("aria-busy", busy ? "true" : "false");
    refreshButton.disabled = busy || finished;
  }

  function showAttempt(next) {
    attempt = next;
    if (!attempt) {
      amountText.textContent = "—";
      buttonAmountText.textContent = "";
      expiryText.textContent = "—";
      updateButtons();
      return;
    }
    const amount = formatAmount(attempt.amount, attempt.currency);
    amountText.textContent = amount;
    buttonAmountText.textContent = amount;
    currencyText.textContent = attempt.currency.toUpperCase();
    if (noChallengeNotice) {
      noChallengeNotice.hidden = true;
    }
    if (elements && typeof elements.update === "function") {
      elements.update({ amount: attempt.amount, currency: attempt.currency });
    }
    if (!elements && !isExpired(attempt)) {
      mountPaymentElement();
    }
    startCountdown();
    updateButtons();
  }

  function startCountdown() {
    clearInterval(countdown);
    if (!attempt || !attempt.expiresAt) {
      expiryText.textContent = "—";
      return;
    }
    const deadline = Date.parse(attempt.expiresAt);
    const tick = function () {
      const secondsLeft = Math.round((deadline - Date.now()) / 1000);
      if (secondsLeft <= 0) {
        clearInterval(countdown);
        expiryText.textContent = "expired";
        updateButtons();
        if (!finished) {
          refresh(true);
        }
        return;
      }
      const minutes = Math.floor(secondsLeft / 60);
      const seconds = String(secondsLeft % 60).padStart(2, "0");
      expiryText.textContent = "in " + minutes + ":" + seconds;
    };
    tick();
    countdown = setInterval(tick, 1000);
  }

  async function post(url, params) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: new URLSearchParams(params),
    });
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    if (!body) {
      throw new Error("HTTP " + response.status);
    }
    return body;
  }

  async function refresh(automatic) {
    if (busy || finished) {
      return;
    }
    busy = true;
    updateButtons();
    showMessage(
      automatic
        ? "The payment request expired. Fetching a new one…"
        : "Fetching a new payment request…",
      "info",
    );
    try {
      const body = await post(data.urls.refresh, {});
      if (body.outcome === "refreshed" && body.attempt) {
        showAttempt(body.attempt);
        showMessage("A new payment request arrived. Check the amount, then pay.", "info");
      } else {
        showMessage(body.message || "Could not get a new payment request.", "error", "Open the order page");
      }
    } catch (error) {
      showMessage(
        "Could not reach ZincDash to get a new payment request. Check the connection and try again.",
        "error",
      );
    } finally {
      busy = false;
      updateButtons();
    }
  }

  async function settle(params, url) {
    try {
      return await post(url, params);
    } catch (error) {
      // The request may have reached the server and paid: never retry blindly.
      return { outcome: "unknown" };
    }
  }

  async function handleOutcome(body, round) {
    switch (body.outcome) {
      case "placed":
        finished = true;
        showMessage(body.message || "Paid. Opening the order…", "success");
        window.location.assign(body.orderUrl || data.urls.order);
        return;
      case "declined":
        showMessage(body.message || "The card was declined. Try another card.", "error");
        if (body.attempt) {
          showAttempt(body.attempt);
        }
        return;
      case "action_required": {
        if (round >= MAX_ACTION_ROUNDS) {
          showMessage("The card's authentication did not finish. Try again or use another card.", "error");
          return;
        }
        showMessage("Your bank asks you to confirm the payment…", "info");
        const result = await stripe.handleNextAction({ clientSecret: body.clientSecret });
        if (result && result.error) {
          showMessage(result.error.message + " Try again or use another card.", "error");
          return;
        }
        const attemptId = body.attempt ? body.attempt.id : attempt.id;
        const next = await settle({ attempt_id: attemptId }, data.urls.continue);
        await handleOutcome(next, round + 1);
        return;
      }
      case "expired":
        if (body.attempt) {
          showAttempt(body.attempt);
          showMessage(
            body.message || "The payment request expired and a new one was fetched. Check the amount and pay again.",
            "warning",
          );
        } else {
          busy = false;
          await refresh(true);
        }
        return;
      case "unknown":
        finished = true;
        clearInterval(countdown);
        showMessage(
          "We lost the connection after paying. Do not pay again: we will check with Zinc and update the order.",
          "warning",
          "Open the order page",
        );
        return;
      case "busy":
        showMessage("A payment for this order is already in progress.", "warning", "Open the order page");
        return;
      default:
        showMessage(body.message || "The payment failed. Nothing was charged.", "error");
    }
  }

  async function pay(event) {
    event.preventDefault();
    if (busy || finished || !attempt || !elements) {
      return;
    }
    if (isExpired(attempt)) {
      await refresh(true);
      return;
    }
    busy = true;
    updateButtons();
    showMessage("Paying…", "info");
    const payingAttempt = attempt;
    try {
      const submitted = await elements.submit();
      if (submitted && submitted.error) {
        showMessage(submitted.error.message, "error");
        return;
      }
      const created = await stripe.createPaymentMethod({ elements: elements });
      if (created.error) {
        showMessage(created.error.message, "error");
        return;
      }
      const body = await settle(
        { attempt_id: payingAttempt.id, payment_method_id: created.paymentMethod.id },
        data.urls.settle,
      );
      await handleOutcome(body, 0);
    } finally {
      busy = false;
      updateButtons();
    }
  }

  function mountPaymentElement() {
    if (typeof window.Stripe !== "function") {
      showMessage("The card form could not be loaded. Reload the page to try again.", "error");
      return;
    }
    stripe = window.Stripe(data.publishableKey);
    elements = stripe.elements({
      mode: "payment",
      amount: attempt.amount,
      currency: attempt.currency,
      paymentMethodTypes: attempt.paymentMethodTypes,
      paymentMethodCreation: "manual",
    });
    document.getElementById("payment-element").textContent = "";
    elements.create("payment").mount("#payment-element");
    updateButtons();
  }

  async function start() {
    form.addEventListener("submit", pay);
    refreshButton.addEventListener("click", function () {
      refresh(false);
    });
    // An expired attempt is refreshed by its countdown; a missing one here.
    showAttempt(attempt);
    if (!attempt) {
      await refresh(true);
    }
  }

  start();
})();
