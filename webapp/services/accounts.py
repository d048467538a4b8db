"""Administrator accounts."""

from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import User, utcnow

MIN_PASSWORD_LENGTH = 8


class AccountError(ValueError):
    """An account could not be created or changed; the message says why."""


def admin_count() -> int:
    return User.count()


def create_admin(email: str, password: str) -> User:
    """Create an administrator; refuses a duplicate e-mail or a weak password."""
    from email_validator import EmailNotValidError, validate_email

    address = User.normalise_email(email)
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise AccountError(f"{email!r} is not a valid e-mail address: {exc}") from None
    if not password or not password.strip():
        raise AccountError("the password is empty; give one of at least "
                           f"{MIN_PASSWORD_LENGTH} characters")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password is too short; use at least {MIN_PASSWORD_LENGTH} "
                           "characters")
    if User.by_email(address) is not None:
        raise AccountError(f"an administrator with e-mail {address} already exists; "
                           "use set-password to change their password")
    user = User(email=address)
    user.set_password(password)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise AccountError(f"an administrator with e-mail {address} already exists") from None
    return user


def set_password(email: str, password: str) -> User:
    user = User.by_email(email)
    if user is None:
        raise AccountError(f"no administrator has e-mail {User.normalise_email(email)}")
    if not password or len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    user.set_password(password)
    db.session.commit()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None (same answer for any failure)."""
    user = User.by_email(email)
    if user is None or not user.is_active or not user.check_password(password):
        return None
    user.last_login_at = utcnow()
    db.session.commit()
    return user
