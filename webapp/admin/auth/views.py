"""Log in and out."""

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from ...extensions import limiter
from ...services import accounts
from .forms import LoginForm

bp = Blueprint("auth", __name__)


def _login_account_key() -> str:
    return "login-account:" + (request.form.get("email") or "").strip().lower()


def _safe_next(target: str | None) -> str:
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") \
                and not target.startswith("//"):
            return target
    return url_for("dashboard.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"], methods=["POST"],
               key_func=_login_account_key)
def login():
    """Sign in with e-mail and password."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user)
            flash("Welcome back.", "success")
            return redirect(_safe_next(request.args.get("next")))
        error = "E-mail or password is not correct."
    status = 200 if error is None and not form.errors else 400
    return render_template("auth/login.html", form=form, error=error,
                           no_admin_yet=accounts.admin_count() == 0), status


@bp.post("/logout")
def logout():
    """Sign out (POST with the CSRF token, so no other site can log you out)."""
    logout_user()
    flash("You have been logged out.", "info")
    return redirect(url_for("auth.login"))


def too_many_attempts():
    """The login page again, with the throttle message, for HTTP 429."""
    form = LoginForm()
    return render_template(
        "auth/login.html", form=form,
        error="Too many login attempts. Wait a minute and try again.",
        no_admin_yet=False), 429
