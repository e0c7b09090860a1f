"""Sign in and out, change password, choose language."""

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from lms.auth import services, throttle
from lms.auth.directory import directory_enabled
from lms.auth.forms import ChangePasswordForm, LanguageForm, LoginForm
from lms.extensions import limiter

bp = Blueprint("auth", __name__)


def _failed_sign_ins(setting: str, **how):
    """Count failed sign-ins (only) against the limit in config `setting`."""
    return limiter.limit(
        lambda: current_app.config[setting],
        methods=["POST"],
        deduct_when=throttle.failed,
        scope=setting.lower(),
        **how,
    )


@bp.route("/login", methods=["GET", "POST"])
@_failed_sign_ins("LOGIN_LIMIT_PER_ACCOUNT_ADDRESS", key_func=throttle.account_address_key)
@_failed_sign_ins("LOGIN_LIMIT_PER_IP", exempt_when=throttle.known_device)
@_failed_sign_ins(
    "LOGIN_LIMIT_PER_ACCOUNT", key_func=throttle.account_key, exempt_when=throttle.known_device
)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        result = services.authenticate(form.username.data, form.password.data)
        user = result.user
        if user is not None:
            # A fresh session at sign-in: nothing planted before login survives it.
            locale = session.get("locale")
            session.clear()
            if locale and not user.locale:
                services.set_locale(user, locale)
            login_user(user)
            if user.must_change_password:
                flash(_("首次登录，请先修改密码。"), "warning")
                response = redirect(url_for("auth.change_password"))
            else:
                response = redirect(services.safe_next_url(form.next.data) or url_for("main.index"))
            throttle.remember_device(response, user)
            return response
        flash(_refusal_message(result), "danger")
        if result.refusal is services.SignInRefusal.DIRECTORY_DOWN:
            # Not the person's fault: answered 503, which the sign-in limits do not count.
            return render_template("auth/login.html", form=form, directory=True), 503
    return render_template("auth/login.html", form=form, directory=directory_enabled())


def _refusal_message(result: services.SignIn) -> str:
    refusal = result.refusal
    if refusal is services.SignInRefusal.NOT_A_MEMBER:
        if result.employee_number:
            return _(
                "公司目录已确认您的身份，但工号 %(staff_no)s 不在学员名册中。"
                "请联系党校组织者将您加入名册。",
                staff_no=result.employee_number,
            )
        return _("公司目录中没有您的工号，无法对应到学员名册。请联系党校组织者。")
    if refusal is services.SignInRefusal.LOCAL_ONLY:
        return _("该工号对应的账号使用本系统密码登录，请输入本系统的用户名和密码。")
    if refusal is services.SignInRefusal.DIRECTORY_DOWN:
        return _("暂时无法连接公司目录，请稍后再试。本系统账号（如管理员）仍可登录。")
    return _("用户名或密码错误，或账号已停用。")


@bp.route("/forgot-password")
def forgot_password():
    """There is no e-mail on the plant's intranet: a person resets it. Say who, and how."""
    return render_template("auth/forgot_password.html")


@bp.route("/logout", methods=["POST"])
def logout():
    # The cookie alone is not enough: a copy of it must stop working too. With one token per
    # account this signs the account out on every device, as a password change does.
    if current_user.is_authenticated:
        services.sign_out(current_user)
    logout_user()
    session.clear()
    flash(_("您已退出登录。"), "success")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    if current_user.is_directory_account:
        # Its password is the directory's: there is no local one to change.
        return render_template("auth/change_password.html", form=None)
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if form.current_password.data == form.new_password.data:
            form.new_password.errors.append(_("新密码不能与当前密码相同。"))
        elif services.change_password(
            current_user, form.current_password.data, form.new_password.data
        ):
            login_user(current_user._get_current_object())  # new session token: stay signed in
            flash(_("密码已修改。"), "success")
            return redirect(url_for("main.index"))
        else:
            form.current_password.errors.append(_("当前密码不正确。"))
    return render_template("auth/change_password.html", form=form)


@bp.route("/language", methods=["POST"])
def set_language():
    form = LanguageForm()
    if form.validate_on_submit():
        session["locale"] = form.language.data
        if current_user.is_authenticated:
            services.set_locale(current_user, form.language.data)
    return redirect(services.safe_next_url(form.next.data) or url_for("main.index"))
