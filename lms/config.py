"""Settings read from the environment, with safe defaults for the embedded SQLite demo."""

import os
import secrets
from datetime import timedelta
from pathlib import Path


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key(instance_path: Path) -> str:
    """LMS_SECRET_KEY, else a random key kept in the instance folder (sessions survive restarts)."""
    if key := os.environ.get("LMS_SECRET_KEY"):
        return key
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def load_config(instance_path: Path) -> dict:
    """Build the Flask config mapping from environment variables."""
    instance_path.mkdir(parents=True, exist_ok=True)
    database_url = os.environ.get("LMS_DATABASE_URL") or f"sqlite:///{instance_path / 'lms.db'}"
    redis_url = os.environ.get("LMS_REDIS_URL", "")
    return {
        "SECRET_KEY": _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url,
        # A pooled connection is checked before use only after it sat idle (lms.database).
        "DATABASE_PING_AFTER_IDLE_SECONDS": 10,
        "REDIS_URL": redis_url,
        "RQ_QUEUE": os.environ.get("LMS_RQ_QUEUE", "lms"),
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_HEADERS_ENABLED": False,
        # Redis down must not lock everyone out: count in memory until it is back.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_STORAGE_OPTIONS": (
            {"socket_connect_timeout": 1, "socket_timeout": 1} if redis_url else {}
        ),
        # Failed sign-ins allowed (see lms/auth/throttle.py).
        "LOGIN_LIMIT_PER_ACCOUNT_ADDRESS": os.environ.get(
            "LMS_LOGIN_LIMIT_PER_ACCOUNT_ADDRESS", "5 per 15 minutes"
        ),
        "LOGIN_LIMIT_PER_IP": os.environ.get("LMS_LOGIN_LIMIT_PER_IP", "100 per 10 minutes"),
        "LOGIN_LIMIT_PER_ACCOUNT": os.environ.get("LMS_LOGIN_LIMIT_PER_ACCOUNT", "50 per hour"),
        # Proxies in front of the app whose X-Forwarded-For/-Proto/-Host it believes (nginx: 1).
        "TRUSTED_PROXIES": int(os.environ.get("LMS_TRUSTED_PROXIES", "0")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _flag("LMS_SECURE_COOKIES"),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _flag("LMS_SECURE_COOKIES"),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("LMS_TIMEZONE", "Asia/Shanghai"),
        "BOOTSTRAP_SERVE_LOCAL": True,
        "MAX_CONTENT_LENGTH": int(os.environ.get("LMS_MAX_UPLOAD_MB", "50")) * 1024 * 1024,
        "UPLOADS_DIR": os.environ.get("LMS_UPLOADS_DIR") or str(instance_path / "uploads"),
        "MATERIAL_MAX_VIDEO_MB": int(os.environ.get("LMS_MATERIAL_MAX_VIDEO_MB", "500")),
        "MATERIAL_MAX_FILE_MB": int(os.environ.get("LMS_MATERIAL_MAX_FILE_MB", "50")),
        "ICAL_UID_DOMAIN": os.environ.get("LMS_ICAL_UID_DOMAIN", "party-school.lms"),
        "SIGNIN_GRACE_WINDOWS": int(os.environ.get("LMS_SIGNIN_GRACE_WINDOWS", "1")),
        "SIGNIN_LATE_MINUTES": int(os.environ.get("LMS_SIGNIN_LATE_MINUTES", "10")),
        "CERTIFICATES_DIR": os.environ.get("LMS_CERTIFICATES_DIR")
        or str(instance_path / "certificates"),
        "CERT_SERIAL_PREFIX": os.environ.get("LMS_CERT_SERIAL_PREFIX", "DX"),
        "CERT_SIGNATORY": os.environ.get("LMS_CERT_SIGNATORY", "党校校长"),
        "PUBLIC_URL": os.environ.get("LMS_PUBLIC_URL", "http://127.0.0.1:5000"),
        "JOBS_INLINE": _flag("LMS_JOBS_INLINE"),
        # Move sessions whose start date has come to "in progress" on a process's first request
        # of the day (also `lms sessions advance`, for cron).
        "SESSIONS_ADVANCE_DAILY": _flag("LMS_SESSIONS_ADVANCE_DAILY", default=True),
        "PRODUCTION": os.environ.get("LMS_ENV", "").strip().lower() == "production",
        "LOG_JSON": _flag("LMS_LOG_JSON")
        or os.environ.get("LMS_ENV", "").strip().lower() == "production",
        # Processes rendering large certificate batches (0: as many as CPUs, at most two).
        "CERT_RENDER_PROCESSES": int(os.environ.get("LMS_CERT_RENDER_PROCESSES", "0")),
        "ROSTER_MAX_ROWS": int(os.environ.get("LMS_ROSTER_MAX_ROWS", "20000")),
        "MEMBERS_PER_PAGE": 50,
        "SCHOOL_NAME": os.environ.get("LMS_SCHOOL_NAME", "党校"),
        **_directory_config(),
    }


def _directory_config() -> dict:
    """Sign-in with the enterprise directory (README, Company directory sign-in); off unless
    LMS_LDAP_URL is set."""
    env = os.environ.get
    return {
        "LDAP_URL": env("LMS_LDAP_URL", "").strip(),
        "LDAP_BASE_DN": env("LMS_LDAP_BASE_DN", ""),
        # {login} is the name typed, escaped for a filter; for AD use sAMAccountName.
        "LDAP_USER_FILTER": env("LMS_LDAP_USER_FILTER", "(|(uid={login})(employeeNumber={login}))"),
        # Set to bind straight as the user (e.g. "uid={login},ou=people,dc=plant,dc=test")
        # instead of searching for them first.
        "LDAP_USER_DN_TEMPLATE": env("LMS_LDAP_USER_DN_TEMPLATE", ""),
        # The account that searches; empty: search anonymously.
        "LDAP_BIND_DN": env("LMS_LDAP_BIND_DN", ""),
        "LDAP_BIND_PASSWORD": env("LMS_LDAP_BIND_PASSWORD", ""),
        "LDAP_LOGIN_ATTR": env("LMS_LDAP_LOGIN_ATTR", "uid"),
        "LDAP_EMPLOYEE_NUMBER_ATTR": env("LMS_LDAP_EMPLOYEE_NUMBER_ATTR", "employeeNumber"),
        "LDAP_NAME_ATTR": env("LMS_LDAP_NAME_ATTR", "cn"),
        "LDAP_START_TLS": _flag("LMS_LDAP_START_TLS"),
        "LDAP_TLS_VERIFY": _flag("LMS_LDAP_TLS_VERIFY", default=True),
        "LDAP_CA_FILE": env("LMS_LDAP_CA_FILE", ""),
        "LDAP_TIMEOUT": max(1, int(env("LMS_LDAP_TIMEOUT", "5"))),  # whole seconds (ldap3)
    }
