"""The portal's words in Simplified Chinese (the default), Traditional Chinese (Hong Kong
usage: 登入, 裝置, 短訊, 私隱) and English — and a NAS's Reply-Message in the page's
language."""

from __future__ import annotations

import re

from citynet.languages import ENGLISH, PORTAL_LANGUAGES, SIMPLIFIED, TRADITIONAL
from radius import guesses, policy, vouchers

TEXT: dict[str, tuple[str, str, str]] = {  # key → (zh-CN, zh-Hant, en)
    "title": ("罗湖免费WiFi", "羅湖免費WiFi", "Luohu Free WiFi"),
    "welcome": ("欢迎使用政府免费WiFi", "歡迎使用政府免費WiFi",
                "Welcome to the district's free WiFi"),
    "choose": ("请选择登录方式", "請選擇登入方式", "Choose how to log in"),
    "by_sms": ("手机短信验证码", "手機短訊驗證碼", "SMS code to my phone"),
    "by_voucher": ("上网券", "上網券", "Voucher"),
    "by_app": ("身份验证器App", "身份驗證App", "Authenticator app"),
    "by_device": ("一键登录（已记住此设备）", "一按登入（已記住此裝置）",
                  "One tap (this device is remembered)"),
    "phone": ("手机号码", "手機號碼", "Mobile number"),
    "send_code": ("获取验证码", "發送驗證碼", "Send me a code"),
    "resend": ("重新发送", "重新發送", "Send a new code"),
    "resend_in": ("重新发送（{seconds} 秒后）", "重新發送（{seconds} 秒後）",
                  "Send a new code (in {seconds} s)"),
    "resend_reload": ("到时请刷新本页。", "屆時請重新整理本頁。", "Reload this page then."),
    "change_number": ("更换手机号码", "更改手機號碼", "Change number"),
    "code": ("验证码", "驗證碼", "Code"),
    "code_sent": ("验证码已发送至 {phone}，5分钟内有效。",
                  "驗證碼已發送至 {phone}，5分鐘內有效。",
                  "A code was sent to {phone}; it is valid for 5 minutes."),
    "code_still_valid": ("验证码已发送至 {phone}，仍然有效，请查看短信。",
                         "發送至 {phone} 的驗證碼仍然有效，請查看短訊。",
                         "The code sent to {phone} is still valid: check your messages."),
    "voucher_code": ("上网券号码", "上網券號碼", "Voucher code"),
    "app_code": ("App中的6位数字", "App中的6位數字", "The 6 digits in your app"),
    "log_in": ("登录", "登入", "Log in"),
    "remember": ("记住此设备 {days} 天，免登录", "記住此裝置 {days} 天，免登入",
                 "Remember this device for {days} days"),
    "randomised": ("此设备使用随机MAC地址，更换网络设置后可能需要重新登录。",
                   "此裝置使用隨機MAC地址，更改網絡設定後可能需要重新登入。",
                   "This device uses a private (random) MAC address: if it changes, "
                   "you will be asked to log in again."),
    "consent": ("我已阅读并同意《服务条款》和《隐私政策》",
                "我已閱讀並同意《服務條款》及《私隱政策》",
                "I accept the terms of service and the privacy policy"),
    "consent_location": ("同意使用位置相关数据（可选）", "同意使用位置相關資料（可選）",
                         "I agree to the use of location-related data (optional)"),
    "terms": ("服务条款", "服務條款", "Terms of service"),
    "privacy": ("隐私政策", "私隱政策", "Privacy policy"),
    "terms_text": (
        "本免费WiFi由区政府向公众提供，请依法使用。按照公共上网实名制要求，以手机号码或上网券"
        "登录。上网时长、流量和速率可能受限；达到限额或发现滥用时，连接可能被断开。",
        "本免費WiFi由區政府向公眾提供，請依法使用。按照公共上網實名制要求，以手機號碼或上網券"
        "登入。上網時間、數據用量和速度可能受限；達到限額或發現濫用時，連線可能被中斷。",
        "This free WiFi is provided by the district government for the public. Use it "
        "lawfully. Logins are by real name (mobile number) or voucher, as the law on public "
        "internet access requires. Sessions may be limited in time, traffic and speed, and "
        "may be ended when a limit is reached or misuse is seen."),
    "privacy_text": (
        "依法记录每次登录和退出：手机号码或上网券、设备MAC地址、接入点、IP地址及时间。记录至少"
        "保存60天（默认180天），仅在依法要求时提供。与位置相关的数据（使用的接入点）仅在您另行"
        "同意后用于其他目的。短信验证码不以明文保存。",
        "依法記錄每次登入和登出：手機號碼或上網券、裝置MAC地址、接入點、IP地址及時間。記錄最少"
        "保存60天（預設180天），只在依法要求時提供。與位置相關的資料（使用的接入點）只在您另行"
        "同意後用於其他目的。短訊驗證碼不以明文保存。",
        "We record, as the law requires, each login and logout: your mobile number or "
        "voucher, your device's MAC address, the access point, your addresses and the "
        "times. Records are kept at least 60 days (180 days by default) and only disclosed "
        "on a lawful request. Location-related data (which access point you use) is used "
        "beyond that only if you agreed to it separately. SMS codes are never stored in "
        "clear."),
    "success": ("已连接，祝您上网愉快！", "已連線，祝您上網愉快！", "You are online. Enjoy!"),
    "continue_to": ("继续访问", "繼續瀏覽", "Continue to"),
    "status": ("我的连接", "我的連線", "My connection"),
    "time_left": ("剩余时长", "剩餘時間", "Time left"),
    "data_left": ("剩余流量", "剩餘數據", "Data left"),
    "used": ("已用", "已用", "Used"),
    "minutes": ("{n} 分钟", "{n} 分鐘", "{n} min"),
    "no_limit": ("不限", "不限", "no limit"),
    "log_out": ("退出登录", "登出", "Log out"),
    "forget_device": ("不再记住此设备", "不再記住此裝置", "Forget this device"),
    "forgotten": ("此设备已不再被记住。", "此裝置已不再被記住。",
                  "This device is no longer remembered."),
    "logged_out": ("您已退出登录。", "您已登出。", "You are logged out."),
    "already": ("此设备已经在线。", "此裝置已經在線。", "This device is already online."),
    "failed_because": ("登录失败：{reason}", "登入失敗：{reason}", "Login failed: {reason}"),
    "enrol": ("设置身份验证器App，下次免短信登录", "設定身份驗證App，下次免短訊登入",
              "Set up an authenticator app for next time"),
    "enrol_scan": ("用身份验证器App扫描二维码，然后输入App显示的6位数字。",
                   "用身份驗證App掃描QR碼，然後輸入App顯示的6位數字。",
                   "Scan the QR code with your authenticator app, then enter the 6 digits "
                   "it shows."),
    "enrolled": ("设置完成：下次可用App登录。", "設定完成：下次可用App登入。",
                 "Done: next time you can log in with the app."),
    "offers": ("附近商户优惠", "附近商戶優惠", "Offers nearby"),
    "valid_until": ("有效期至", "有效期至", "Valid until"),
    "outbox": ("演示：已发送的短信", "示範：已發送的短訊", "Demo: SMS sent"),
    "need_hotspot": ("请连接罗湖免费WiFi后打开此页面。", "請連接羅湖免費WiFi後開啟此頁面。",
                     "Open this page while connected to the district's free WiFi."),
    "language": ("语言", "語言", "Language"),
    "almost": ("验证成功", "驗證成功", "Verified"),
    "handover": ("点击“连接”，由热点完成上网登录。", "按「連接」，由熱點完成上網登入。",
                 "Press Connect: the hotspot completes your login."),
    "connect": ("连接", "連接", "Connect"),
    "back": ("返回", "返回", "Back"),
    # refusals
    # a Portal-protocol AC did not log the device in (portal.logins.AC_REFUSALS)
    "ac_rejected": ("登录被拒绝，请检查后重试", "登入被拒絕，請檢查後再試",
                    "The login was refused: check and try again"),
    "ac_busy": ("正在登录中，请稍候再试", "正在登入中，請稍候再試",
                "A login of this device is under way: try again in a moment"),
    "ac_no_answer": ("热点暂时没有响应，请稍后重试", "熱點暫時沒有回應，請稍後再試",
                     "The hotspot did not answer: try again shortly"),
    "ac_failed": ("热点无法完成登录，请稍后重试", "熱點無法完成登入，請稍後再試",
                  "The hotspot could not complete the login: try again shortly"),
    "bad_phone": ("请输入中国大陆手机号码（11位）", "請輸入中國內地手機號碼（11位）",
                  "Enter a mainland China mobile number (11 digits)"),
    "bad_voucher": ("上网券号码有误，请检查", "上網券號碼有誤，請檢查",
                    "That voucher code is not valid: check it"),
    "wrong code": ("验证码错误", "驗證碼錯誤", "Wrong code"),
    "no code": ("验证码已失效，请重新获取", "驗證碼已失效，請重新發送",
                "The code has expired: ask for a new one"),
    "too many tries": ("错误次数过多，请重新获取验证码", "錯誤次數過多，請重新發送驗證碼",
                       "Too many wrong tries: ask for a new code"),
    "cooldown": ("请在 {seconds} 秒后重试", "請在 {seconds} 秒後再試",
                 "Please wait {seconds} s before asking again"),
    "over budget": ("今日短信发送次数已达上限，请使用上网券或明天再试",
                    "今日短訊發送次數已達上限，請使用上網券或明天再試",
                    "Too many codes today: use a voucher or try again tomorrow"),
    # wrong voucher codes held (radius.guesses): by device, client address, hotspot
    "vouchers_held_mac": ("此设备输入错误的上网券次数过多，请在 {minutes} 分钟后重试",
                          "此裝置輸入錯誤的上網券次數過多，請在 {minutes} 分鐘後再試",
                          "Too many wrong voucher codes from this device: try again in "
                          "{minutes} min"),
    "vouchers_held_ip": ("此地址输入错误的上网券次数过多，请在 {minutes} 分钟后重试",
                         "此地址輸入錯誤的上網券次數過多，請在 {minutes} 分鐘後再試",
                         "Too many wrong voucher codes from this address: try again in "
                         "{minutes} min"),
    "vouchers_held_nas": ("此热点输入错误的上网券次数过多，请在 {minutes} 分钟后重试",
                          "此熱點輸入錯誤的上網券次數過多，請在 {minutes} 分鐘後再試",
                          "Too many wrong voucher codes at this hotspot: try again in "
                          "{minutes} min"),
    "device_not_remembered": ("此设备未被记住，请选择其他登录方式",
                              "此裝置未被記住，請選擇其他登入方式",
                              "This device is not remembered: choose another way"),
    "not enrolled": ("此号码未设置身份验证器App，请先用短信登录",
                     "此號碼未設定身份驗證App，請先用短訊登入",
                     "This number has no authenticator app yet: log in by SMS first"),
    "locked": ("错误次数过多，App登录已锁定15分钟，请使用短信登录",
               "錯誤次數過多，App登入已鎖定15分鐘，請使用短訊登入",
               "Too many wrong codes: app login is locked for 15 minutes, use SMS"),
    "need_consent": ("请先同意服务条款和隐私政策", "請先同意服務條款及私隱政策",
                     "Please accept the terms and privacy policy"),
    "session_expired": ("页面已过期，请重试", "頁面已過期，請重試",
                        "This page has expired: please try again"),
    "unsigned": ("无法确认热点身份，请重新连接WiFi", "無法確認熱點身份，請重新連接WiFi",
                 "This hotspot could not be verified: reconnect to the WiFi"),
}

# RADIUS's reasons (radius.policy words them in Simplified Chinese and English) in
# Traditional Chinese, for a Reply-Message the NAS hands back
REASONS_TRADITIONAL = {
    "unknown voucher": "上網券無效",
    guesses.HELD: "上網券輸入錯誤次數過多，請稍後再試",
    "voucher revoked": "上網券已作廢",
    "voucher used up": "上網券已用完",
    vouchers.IN_USE: "上網券已在允許的裝置上使用",
    "wrong password": "密碼錯誤",
    "no valid login token": "登入憑證無效或已過期，請重新登入",
    "device not remembered": "裝置未記住或已過期，請在認證頁面登入",
    "MAC login from another device": "裝置地址不符",
    "daily time used up": "今日上網時間已用完",
    "daily data used up": "今日上網數據已用完",
    "too many devices online": "同時在線的裝置已達上限",
}
_BY_CHINESE = {chinese: reason for reason, chinese in policy.MESSAGES.items()}
_HAN = re.compile(r"[\u3400-\u9fff]")


def translate(key: str, language: str, **values: object) -> str:
    words = TEXT.get(key)
    if words is None:
        return key
    text = words[_column(language)]
    return text.format(**values) if values else text


def _column(language: str) -> int:
    return PORTAL_LANGUAGES.index(language) if language in PORTAL_LANGUAGES else 0


def nas_reply(reply: str, language: str) -> str:
    """A NAS's Reply-Message in the page's language alone: a reason RADIUS gives is
    translated; another two-language message (``English / 中文``, as a profile in "both"
    words them) keeps the half in the page's script; anything else is shown as sent."""
    halves = [half.strip() for half in reply.split(" / ") if half.strip()]
    for half in halves:
        reason = half if half in policy.MESSAGES else _BY_CHINESE.get(half)
        if reason is not None:
            return _reason(reason, language)
    if len(halves) == 2:
        chinese = [half for half in halves if _HAN.search(half)]
        english = [half for half in halves if not _HAN.search(half)]
        if len(chinese) == 1 and len(english) == 1:
            return english[0] if language == ENGLISH else chinese[0]
    return reply


def _reason(reason: str, language: str) -> str:
    if language == TRADITIONAL:
        return REASONS_TRADITIONAL.get(reason, policy.MESSAGES[reason])
    return policy.MESSAGES[reason] if language == SIMPLIFIED else reason
