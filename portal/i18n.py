"""The portal's words in Chinese (the default) and English."""

from __future__ import annotations

TEXT: dict[str, tuple[str, str]] = {  # key → (zh-CN, en)
    "title": ("罗湖免费WiFi", "Luohu Free WiFi"),
    "welcome": ("欢迎使用政府免费WiFi", "Welcome to the district's free WiFi"),
    "choose": ("请选择登录方式", "Choose how to log in"),
    "by_sms": ("手机短信验证码", "SMS code to my phone"),
    "by_voucher": ("上网券", "Voucher"),
    "by_app": ("身份验证器App", "Authenticator app"),
    "by_device": ("一键登录（已记住此设备）", "One tap (this device is remembered)"),
    "phone": ("手机号码", "Mobile number"),
    "send_code": ("获取验证码", "Send me a code"),
    "resend": ("重新发送", "Send a new code"),
    "code": ("验证码", "Code"),
    "code_sent": ("验证码已发送至 {phone}，5分钟内有效。",
                  "A code was sent to {phone}; it is valid for 5 minutes."),
    "code_still_valid": ("验证码已发送至 {phone}，仍然有效，请查看短信。",
                         "The code sent to {phone} is still valid: check your messages."),
    "voucher_code": ("上网券号码", "Voucher code"),
    "app_code": ("App中的6位数字", "The 6 digits in your app"),
    "log_in": ("登录", "Log in"),
    "remember": ("记住此设备 {days} 天，免登录", "Remember this device for {days} days"),
    "randomised": ("此设备使用随机MAC地址，更换网络设置后可能需要重新登录。",
                   "This device uses a private (random) MAC address: if it changes, "
                   "you will be asked to log in again."),
    "consent": ("我已阅读并同意《服务条款》和《隐私政策》",
                "I accept the terms of service and the privacy policy"),
    "consent_location": ("同意使用位置相关数据（可选）",
                         "I agree to the use of location-related data (optional)"),
    "terms": ("服务条款", "Terms of service"),
    "privacy": ("隐私政策", "Privacy policy"),
    "success": ("已连接，祝您上网愉快！", "You are online. Enjoy!"),
    "continue_to": ("继续访问", "Continue to"),
    "status": ("我的连接", "My connection"),
    "time_left": ("剩余时长", "Time left"),
    "data_left": ("剩余流量", "Data left"),
    "used": ("已用", "Used"),
    "no_limit": ("不限", "no limit"),
    "log_out": ("退出登录", "Log out"),
    "forget_device": ("不再记住此设备", "Forget this device"),
    "forgotten": ("此设备已不再被记住。", "This device is no longer remembered."),
    "logged_out": ("您已退出登录。", "You are logged out."),
    "already": ("此设备已经在线。", "This device is already online."),
    "failed": ("登录失败", "Login failed"),
    "enrol": ("设置身份验证器App，下次免短信登录", "Set up an authenticator app for next time"),
    "enrol_scan": ("用身份验证器App扫描二维码，然后输入App显示的6位数字。",
                   "Scan the QR code with your authenticator app, then enter the 6 digits "
                   "it shows."),
    "enrolled": ("设置完成：下次可用App登录。", "Done: next time you can log in with the app."),
    "offers": ("附近商户优惠", "Offers nearby"),
    "valid_until": ("有效期至", "Valid until"),
    "outbox": ("演示：已发送的短信", "Demo: SMS sent"),
    "need_hotspot": ("请连接罗湖免费WiFi后打开此页面。",
                     "Open this page while connected to the district's free WiFi."),
    "switch": ("English", "中文"),
    "almost": ("验证成功", "Verified"),
    "handover": ("点击“连接”，由热点完成上网登录。",
                 "Press Connect: the hotspot completes your login."),
    "connect": ("连接", "Connect"),
    "back": ("返回", "Back"),
    # refusals
    "bad_phone": ("请输入中国大陆手机号码（11位）",
                  "Enter a mainland China mobile number (11 digits)"),
    "bad_voucher": ("上网券号码有误，请检查", "That voucher code is not valid: check it"),
    "wrong code": ("验证码错误", "Wrong code"),
    "no code": ("验证码已失效，请重新获取", "The code has expired: ask for a new one"),
    "too many tries": ("错误次数过多，请重新获取验证码",
                       "Too many wrong tries: ask for a new code"),
    "cooldown": ("请在 {seconds} 秒后重试", "Please wait {seconds} s before asking again"),
    "over budget": ("今日短信发送次数已达上限，请使用上网券或明天再试",
                    "Too many codes today: use a voucher or try again tomorrow"),
    # wrong voucher codes held (radius.guesses): by device, client address, hotspot
    "vouchers_held_mac": ("此设备输入错误的上网券次数过多，请在 {minutes} 分钟后重试",
                          "Too many wrong voucher codes from this device: try again in "
                          "{minutes} min"),
    "vouchers_held_ip": ("此地址输入错误的上网券次数过多，请在 {minutes} 分钟后重试",
                         "Too many wrong voucher codes from this address: try again in "
                         "{minutes} min"),
    "vouchers_held_nas": ("此热点输入错误的上网券次数过多，请在 {minutes} 分钟后重试",
                          "Too many wrong voucher codes at this hotspot: try again in "
                          "{minutes} min"),
    "device_not_remembered": ("此设备未被记住，请选择其他登录方式",
                              "This device is not remembered: choose another way"),
    "not enrolled": ("此号码未设置身份验证器App，请先用短信登录",
                     "This number has no authenticator app yet: log in by SMS first"),
    "locked": ("错误次数过多，App登录已锁定15分钟，请使用短信登录",
               "Too many wrong codes: app login is locked for 15 minutes, use SMS"),
    "need_consent": ("请先同意服务条款和隐私政策", "Please accept the terms and privacy policy"),
    "session_expired": ("页面已过期，请重试", "This page has expired: please try again"),
    "unsigned": ("无法确认热点身份，请重新连接WiFi", "This hotspot could not be verified: "
                 "reconnect to the WiFi"),
}


def translate(key: str, language: str, **values: object) -> str:
    pair = TEXT.get(key)
    if pair is None:
        return key
    text = pair[1] if language == "en" else pair[0]
    return text.format(**values) if values else text


    return "zh-CN"
