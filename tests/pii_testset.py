"""Seeded synthetic PII test set (Faker zh_CN, zh_TW, en_US) plus hand-written hard negatives.

Each positive case is a short text with gold spans ``(start, end, TYPE)``; values are embedded in Chinese and
English carrier sentences, often glued to Han characters with no space (the case ``\\b`` patterns miss).
Values come from Faker where Faker produces realistic ones (zh_CN mobiles and IDs, e-mails, cards, SSNs, US
passports, IPs, zh_TW and en_US phone layouts); the generators below fill the gaps Faker leaves (mainland
landlines, +86 / separator variants, 15-digit legacy IDs, UnionPay cards, PRC passports, QQ/WeChat IDs,
international numbers). Ground-truth definitions that need a rule:
  * IP: only addresses ``ipaddress`` calls global are PII (private ones are negatives by default).
  * en_US bare 10-digit phone layout (no separators): kept only when the area code is assigned
    (``phonenumbers.is_valid_number``), since a bare digit run is otherwise just a number; the carriers always
    put a contact word before it (also glued: "Tel.4155550172", "call4155550172").
  * ID_NUMBER includes residence permits of Hong Kong, Macau and Taiwan residents (region 810000/820000/830000).
  * international ``+`` numbers: valid per ``phonenumbers`` metadata (example number with random last digits).
Deterministic: same seed → same cases.
"""
from __future__ import annotations

import random
from typing import NamedTuple, Optional

import phonenumbers
from faker import Faker

TYPES = ("EMAIL", "IP", "ID_NUMBER", "BANK_CARD", "PHONE", "SSN", "PASSPORT", "QQ", "WECHAT")
LOCALES = ("zh_CN", "zh_TW", "en_US")
DEFAULT_SEED = 20240607


class Case(NamedTuple):
    text: str
    spans: tuple[tuple[int, int, str], ...]
    locale: str


# ---------------------------------------------------------------- carrier sentences ({} = the value)
ZH_TEMPLATES: dict[str, list[str]] = {
    "EMAIL": ["请发邮件至{}联系我们。", "邮箱：{}", "有问题可以写信给{}，我们会尽快回复", "联系人邮箱{}谢谢", "E-mail:{}"],
    "IP": ["服务器地址是{}，请勿外传。", "来自IP{}的访问被拒绝", "登录IP：{}（广东）", "节点{}延迟较高", "访问 {}:8080 即可"],
    "PHONE": ["联系电话{}或者到店咨询", "手机：{}", "如有疑问请致电{}。", "客服热线 {} 全天服务", "电话/微信同号{}"],
    "ID_NUMBER": ["身份证号码{}的用户已实名", "身份证：{}", "公民身份号码 {} 已登记", "证件号{}，请核对。"],
    "BANK_CARD": ["银行卡号{}已绑定", "请转账至卡号：{}", "收款账户 {}（工商银行）", "信用卡{}本月账单已出"],
    "SSN": ["他的社会安全号码是{}。", "SSN：{}", "美国社安号{}已验证"],
    "PASSPORT": ["护照号码：{}", "护照号{}，有效期十年", "持护照（{}）入境", "護照號碼：{}", "Passport No. {}"],
    "QQ": ["QQ：{}", "加我QQ {}一起玩", "QQ号{}，备注来意", "扣扣：{}", "企鹅号：{}", "QQ群：{}"],
    "WECHAT": ["微信号：{}", "微信：{}，加好友请备注", "vx：{}", "WeChat ID: {}", "微信号是{}", "V信：{}"],
}
EN_TEMPLATES: dict[str, list[str]] = {
    "EMAIL": ["Contact us at {} for details.", "Email: {}", "Send your CV to {}.", "(reply to {})"],
    "IP": ["The request came from {} yesterday.", "Server IP: {}", "Blocked host {}, see log.", "ssh root@{} -p 22"],
    "PHONE": ["Call {} for more information.", "Phone: {}", "Tel. {} (office)", "You can reach me at {}.", "Tel.{}"],
    "ID_NUMBER": ["Chinese ID card number {} was verified.", "Resident ID: {}"],
    "BANK_CARD": ["Card number {} expires 04/27.", "Pay with card {}.", "Credit card: {}"],
    "SSN": ["SSN: {}", "His social security number is {}.", "Social Security No. {} on file."],
    "PASSPORT": ["Passport No. {}", "passport number: {}", "Passport: {}, expires 2031."],
    "QQ": ["QQ: {}", "Add me on QQ {}."],
    "WECHAT": ["WeChat: {}", "WeChat ID: {}", "wechat: {}"],
}

# carrier text around the sentence; digits/addresses avoided so fillers never create PII by chance
ZH_FILL = ["今天天气不错，我们去公园散步。", "本店主营各类家电产品", "详情请见官网公告", "感谢您的支持！", "据报道，",
           "會議將於下週舉行。", "欢迎新老客户光临", "以上信息仅供参考", "活動詳情如下："]
EN_FILL = ["Thanks for reading.", "The meeting was moved.", "Best regards,", "See the attached file.", "Note:"]

# real area codes (mainland) and their local-number lengths
CN_AREA = [("010", 8), ("020", 8), ("021", 8), ("022", 8), ("023", 8), ("024", 8), ("025", 8), ("027", 8),
           ("028", 8), ("029", 8), ("0755", 8), ("0571", 8), ("0512", 8), ("0731", 8), ("0591", 8), ("0871", 8),
           ("0351", 7), ("0431", 8), ("0451", 8), ("0531", 8), ("0898", 8), ("0311", 8), ("0791", 8), ("0931", 7)]
INTL_REGIONS = ["GB", "DE", "FR", "JP", "KR", "SG", "AU", "IN", "HK", "CA", "ES", "IT", "BR", "RU", "MY", "TH"]
PROVINCE_PREFIXES = ["110105", "310104", "440305", "320102", "330106", "510107", "420106", "610113", "370202",
                     "350203", "210102", "120101", "500103", "130102", "410105", "430104", "450103", "530102"]


class _Gen:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.fk = {loc: Faker(loc) for loc in LOCALES}
        for i, loc in enumerate(LOCALES):
            self.fk[loc].seed_instance(seed + i)

    # ------------------------------------------------------------ values
    def email(self, loc: str) -> str:
        f, r = self.fk[loc], self.rng
        k = r.randrange(5)
        if k == 0:
            return f.free_email()
        if k == 1:
            return f"{r.randint(10000, 9999999999)}@qq.com"
        if k == 2:
            return f"{f.user_name()}.{r.randint(1, 99)}@{r.choice(['163.com', '126.com', 'sina.com.cn', 'foxmail.com'])}"
        return f.email() if k == 3 else f.company_email()

    def ip(self, loc: str) -> str:
        import ipaddress

        f = self.fk[loc]
        if self.rng.random() < 0.7:
            return f.ipv4_public()
        while True:
            v6 = f.ipv6()
            if ipaddress.ip_address(v6).is_global:
                return str(ipaddress.ip_address(v6)) if self.rng.random() < 0.5 else v6

    def phone(self, loc: str) -> str:
        f, r = self.fk[loc], self.rng
        if loc == "zh_CN":
            k = r.randrange(6)
            m = f.phone_number()
            if k == 0:
                return m
            if k == 1:
                return f"{m[:3]}-{m[3:7]}-{m[7:]}"
            if k == 2:
                return f"{m[:3]} {m[3:7]} {m[7:]}"
            if k == 3:
                return r.choice(["+86 ", "+86-", "+86", "0086 ", "(+86)"]) + m
            area, n = r.choice(CN_AREA)
            local = str(r.randint(2, 8)) + "".join(str(r.randrange(10)) for _ in range(n - 1))
            return r.choice([f"{area}-{local}", f"({area}){local}", f"{area} {local[:4]} {local[4:]}", f"{area}{local}"])
        if loc == "zh_TW":
            return f.phone_number()
        if r.random() < 0.2:  # international, valid per phonenumbers metadata
            return self.intl()
        while True:
            p = f.phone_number()
            if any(c in p for c in "-.()+") or self._valid(p, "US"):
                return p

    def intl(self) -> str:
        r = self.rng
        while True:
            region = r.choice(INTL_REGIONS)
            ex = phonenumbers.example_number_for_type(region, r.choice([phonenumbers.PhoneNumberType.MOBILE,
                                                                         phonenumbers.PhoneNumberType.FIXED_LINE]))
            if ex is None:
                continue
            nat = str(ex.national_number)
            nat = nat[:-3] + "".join(str(r.randrange(10)) for _ in range(3))
            num = phonenumbers.parse(f"+{ex.country_code}{nat}")
            if phonenumbers.is_valid_number(num):
                return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.INTERNATIONAL)

    @staticmethod
    def _valid(s: str, region: str) -> bool:
        try:
            return phonenumbers.is_valid_number(phonenumbers.parse(s, region))
        except phonenumbers.NumberParseException:
            return False

    def id_number(self, loc: str) -> str:
        r = self.rng
        if r.random() < 0.2:  # legacy 15-digit: region + YYMMDD + 3 digits
            y, m, d = r.randint(30, 98), r.randint(1, 12), r.randint(1, 28)
            return f"{r.choice(PROVINCE_PREFIXES)}{y:02d}{m:02d}{d:02d}{r.randint(0, 999):03d}"
        if r.random() < 0.1:  # residence permit of a Hong Kong / Macau / Taiwan resident: region 810000/820000/830000
            y, m, d = r.randint(1940, 2010), r.randint(1, 12), r.randint(1, 28)
            body = f"{r.choice(['81', '82', '83'])}0000{y}{m:02d}{d:02d}{r.randint(0, 999):03d}"
            return body + _id_check_digit(body)
        v = self.fk["zh_CN"].ssn()
        return v.lower() if v.endswith("X") and r.random() < 0.3 else v

    def bank_card(self, loc: str) -> str:
        r, f = self.rng, self.fk["en_US"]  # card types are defined by the generic provider, not per locale
        if r.random() < 0.35:  # UnionPay 62…, 16 or 19 digits, Luhn-valid
            body = "62" + "".join(str(r.randrange(10)) for _ in range(r.choice([13, 16])))
            num = body + _luhn_digit(body)
        else:
            num = f.credit_card_number(r.choice(["visa16", "visa13", "visa19", "mastercard", "amex", "discover",
                                                 "jcb15", "jcb16", "diners"]))
        k = r.randrange(3)
        if k == 0 or len(num) not in (15, 16, 19):
            return num
        sep = " " if k == 1 else "-"
        if len(num) == 15:
            return sep.join([num[:4], num[4:10], num[10:]])
        return sep.join(num[i:i + 4] for i in range(0, len(num), 4))

    def ssn(self, loc: str) -> str:
        return self.fk["en_US"].ssn()

    def passport(self, loc: str) -> str:
        r = self.rng
        k = r.randrange(4)
        if k == 0:
            return self.fk["en_US"].passport_number()
        if k == 1:
            return self.fk["zh_CN"].passport_number()  # 9 digits
        if k == 2:
            return r.choice("EG") + f"{r.randint(0, 99999999):08d}"
        return "E" + r.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") + f"{r.randint(0, 9999999):07d}"

    def qq(self, loc: str) -> str:
        return str(self.rng.randint(10_000, 3_999_999_999))

    def wechat(self, loc: str) -> str:
        r, f = self.rng, self.fk[loc]
        k = r.randrange(3)
        if k == 0:
            return "wxid_" + "".join(r.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(14))
        name = f.user_name()
        if not name[0].isalpha():
            name = "a" + name
        name = name.replace(".", "_")
        return name[:14] + r.choice(["_", "-", ""]) + str(r.randint(1, 9999))

    # ------------------------------------------------------------ cases
    def case(self, kind: str, loc: str) -> Case:
        r = self.rng
        value = getattr(self, {"ID_NUMBER": "id_number", "BANK_CARD": "bank_card", "QQ": "qq", "IP": "ip",
                               "SSN": "ssn", "EMAIL": "email", "PHONE": "phone", "PASSPORT": "passport",
                               "WECHAT": "wechat"}[kind])(loc)
        zh = loc != "en_US" and r.random() < 0.85
        tpl = r.choice((ZH_TEMPLATES if zh else EN_TEMPLATES)[kind])
        if kind == "IP" and ":" in value and "{}:" in tpl:
            tpl = tpl.replace("{}:", "[{}]:")  # IPv6 with a port is written in brackets (RFC 3986)
        fill = ZH_FILL if zh else EN_FILL
        before = r.choice(fill) if r.random() < 0.6 else ""
        after = r.choice(fill) if r.random() < 0.6 else ""
        glue = "" if zh else " "
        pre, post = tpl.split("{}")
        head = (before + glue if before else "") + pre
        text = head + value + post + (glue + after if after else "")
        return Case(text, ((len(head), len(head) + len(value), kind),), loc)


def _id_check_digit(body17: str) -> str:
    """GB 11643 / ISO 7064 MOD 11-2 check character of the first 17 digits."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(c) * w for c, w in zip(body17, weights)) % 11]


def _luhn_digit(body: str) -> str:
    total = 0
    for i, c in enumerate(reversed(body)):
        n = int(c)
        if i % 2 == 0:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return str((10 - total % 10) % 10)


def positives(seed: int = DEFAULT_SEED, per_type: int = 300) -> list[Case]:
    g = _Gen(seed)
    out = []
    for kind in TYPES:
        for i in range(per_type):
            out.append(g.case(kind, LOCALES[i % 3]))
    return out


def multi(seed: int = DEFAULT_SEED, n: int = 200, k: int = 4) -> list[Case]:
    """Documents with several PII values of mixed types, to test overlap handling and offsets."""
    singles = positives(seed + 1, per_type=max(1, (n * k) // len(TYPES) + 1))
    rng = random.Random(seed + 2)
    rng.shuffle(singles)
    out = []
    for i in range(n):
        parts = singles[i * k:(i + 1) * k]
        text, spans = "", []
        for c in parts:
            sep = "\n" if text else ""
            base = len(text) + len(sep)
            text += sep + c.text
            spans.extend((s + base, e + base, t) for s, e, t in c.spans)
        out.append(Case(text, tuple(spans), "mixed"))
    return out


# ---------------------------------------------------------------- hard negatives (hand-written)
HARD_NEGATIVES: list[str] = [
    # ISBNs
    "ISBN 978-7-111-54742-6，机械工业出版社", "ISBN：9787111547426", "ISBN 0-306-40615-2", "ISBN-10: 7111547426",
    "ISBN 978-0-596-52068-7 (O'Reilly)", "书号9787020002207定价",
    # dates and times
    "2023-10-15", "2023年10月15日", "发布于2023/10/15 14:30:00", "2023-10-15T14:30:00+08:00", "20231015143000",
    "Updated 10/15/2023 at 2:30 PM", "时间戳1697355000", "timestamp 1697355000123 ms", "日期：19900307",
    "1990.03.07出生", "从2001-2023年", "会议时间 14:30:45-16:00:00",
    # prices and amounts
    "售价¥13800000000元", "价格：13800元", "￥1,380.00", "$13,812.45", "共计人民币12345678901元整",
    "GDP达到1210207亿元", "市值1.3812345678万亿",
    # version numbers and software
    "版本 1.2.3.4", "v1.2.3.4", "version 2.0.0.1", "Firefox/115.0.3.1", "Chrome 120.0.6099.109",
    "升级到10.0.19041.1288", "Python 3.12.1", "OID 1.3.6.1.4.1.311", "固件版本：4.2.1.8", "pip install numpy==1.26.4",
    # coordinates and numbers
    "坐标 39.9042, 116.4074", "(31.2304, 121.4737)", "40.7128° N, 74.0060° W", "圆周率3.14159265358979323846",
    "e=2.718281828459045", "lat=22.543096&lng=114.057865",
    # order / tracking / product codes failing validators
    "订单号：20231015123456789", "订单编号 202310151234567890", "快递单号SF1234567890123", "运单号：773012345678",
    "中通快递 75312345678901", "京东订单 JDVA12345678901", "商品编码 6901234567892", "条形码 6920202888883",
    "发票号码 044031900111 12345678", "统一社会信用代码 91350100M000100Y43", "车牌 京A12345", "邮编 100080",
    "股票代码 600519", "工号 20180123", "学号 2019211234", "UUID 123e4567-e89b-12d3-a456-426614174000",
    "md5 d41d8cd98f00b204e9800998ecf8427e", "MAC 00:1A:2B:3C:4D:5E", "时间 12:30:45", "端口 8080",
    "订单号 1234567890123456", "ref 4111111111111112", "tracking 1Z999AA10123456784",
    # private and special IPs (kept by default), IP-shaped non-IPs
    "内网地址192.168.1.1", "网关10.0.0.1", "127.0.0.1:8000", "0.0.0.0", "172.16.0.5", "255.255.255.0",
    "::1", "fe80::1ff:fe23:4567:890a", "2001:db8::1", "docs at 2001:db8:85a3::8a2e:370:7334", "1.2.3.4.5",
    # e-mail-shaped non-addresses
    "logo@2x.png", "icon@3x.jpg", "npm install lodash@4.17.21", "@zhangsan 你好", "user@localhost",
    # context words without a valid value
    "QQ音乐", "QQ 2023年度盛典", "微信支付", "微信公众号：人民日报", "WeChat account", "WeChat: official account",
    "护照照片尺寸33x48mm", "passport photo", "微信：请扫码添加", "QQ空间", "Passport size: standard",
    # phone-shaped non-phones
    "第12345678910期", "12345678901", "10086", "95588", "400-000-0000", "1-2-3-4", "No. 123-456-789",
    "SSN format is AAA-GG-SSSS", "000-12-3456", "666-12-3456", "900-12-3456", "123-00-4567", "123-45-0000",
    "ID 123456789012345678", "身份证号码共18位", "110101199013077777",
]


def negatives(seed: int = DEFAULT_SEED, n: int = 300) -> list[str]:
    """Generated hard negatives: validator-failing look-alikes of each type (wrong ID check digit or date,
    Luhn-failing card numbers, private IPs, invalid mobile prefixes, SSNs in forbidden ranges)."""
    g = _Gen(seed + 7)
    r = g.rng
    out = list(HARD_NEGATIVES)
    for i in range(n):
        k = i % 7
        if k == 0:  # ID with a wrong check digit
            v = g.fk["zh_CN"].ssn()
            wrong = r.choice([c for c in "0123456789X" if c != v[-1]])
            out.append(f"证件号{v[:-1]}{wrong}已作废")
        elif k == 1:  # ID with an impossible date
            v = g.fk["zh_CN"].ssn()
            out.append(f"编号{v[:10]}13{v[12:]}")
        elif k == 2:  # card failing Luhn
            num = g.fk["en_US"].credit_card_number("visa16")
            bad = num[:-1] + str((int(num[-1]) + r.randint(1, 9)) % 10)
            out.append(f"订单号{bad}")
        elif k == 3:
            out.append(f"内网{g.fk['en_US'].ipv4_private()}")
        elif k == 4:  # 11 digits with a mobile-invalid prefix (10x/11x/12x)
            out.append(f"编号1{r.randint(0, 2)}{r.randint(0, 999999999):09d}")
        elif k == 5:
            out.append(f"时间戳{r.randint(1_500_000_000, 1_800_000_000)}，序号{r.randint(100, 99999)}")
        else:
            out.append(f"版本号 {r.randint(1, 20)}.{r.randint(0, 20)}.{r.randint(0, 200)}.{r.randint(0, 255)}")
    return out


def all_cases(seed: int = DEFAULT_SEED, per_type: int = 300, n_multi: int = 200,
              n_neg: int = 300) -> tuple[list[Case], list[str]]:
    return positives(seed, per_type) + multi(seed, n_multi), negatives(seed, n_neg)


def score(found: list[tuple[int, int, str]], gold: tuple[tuple[int, int, str], ...],
          tp: dict, fp: dict, fn: dict) -> Optional[list]:
    """Exact-span scoring by type; returns the mismatches (for debugging the test set)."""
    g = set(gold)
    f = set(found)
    bad = []
    for s in f:
        if s in g:
            tp[s[2]] = tp.get(s[2], 0) + 1
        else:
            fp[s[2]] = fp.get(s[2], 0) + 1
            bad.append(("fp", s))
    for s in g - f:
        fn[s[2]] = fn.get(s[2], 0) + 1
        bad.append(("fn", s))
    return bad
