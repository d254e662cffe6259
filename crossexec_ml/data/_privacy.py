"""Personal data: recognise it in headers and cells, and mask it in every message.

The data contract carries pseudonymised codes only: no names, no ID numbers, no telephone
numbers (DOMAIN.md section 2). Court exports often carry them anyway (a 被执行人姓名 column, a
身份证号 typed into a remarks field, a mobile number as a handler code), so ingestion checks
every input with the rules here and refuses what looks personal; nothing personal may reach an
output, a report, the ledger or a log.

Two kinds of rule:

* **header rules** (:func:`header_rule`): a column whose name says it holds personal data, in
  Chinese, English or pinyin (姓名, 身份证号, 手机号, 住址, ``full_name``, ``id_card``,
  ``phone``, ``address``...), after normalising case, width, spaces, underscores and hyphens;
* **value rules** (:func:`value_rule`, :func:`scan_values`): a cell holding a Chinese resident
  ID number (18 characters with a valid province code, birth date and ISO 7064 check digit;
  the 15-digit pre-1999 form with a valid province and birth date) or a
  mainland mobile number (``1[3-9]`` + 9 digits, optionally ``+86`` and separators), alone or
  inside longer text.

The value rules are strict (check digit, real dates) so case numbers, amounts and codes do not
trip them. Masking (:func:`mask_text`) is deliberately broader: any run of 11 or more digits is
hidden in messages, so even a mistyped ID number (wrong check digit) is never echoed.

This module depends on nothing else in the package, so every layer may use it.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: Rule key -> how a message names it (Chinese and English).
RULES: dict[str, str] = {
    "header": "列名表明是个人信息 header names personal data",
    "id_number": "疑似居民身份证号码 looks like a Chinese resident ID number",
    "mobile": "疑似手机号码 looks like a mainland mobile number",
}

# --------------------------------------------------------------------------------------------
# Header rules
# --------------------------------------------------------------------------------------------

# Chinese words that make any header personal wherever they appear in it.
_ZH_ANYWHERE = (
    "姓名",
    "名字",
    "身份证",
    "身份号码",
    "证件号",
    "证件编号",
    "手机",
    "电话",
    "住址",
    "地址",
    "住所",
    "居所",
    "联系方式",
    "户籍",
    "出生日期",
    "出生年月",
    "电子邮箱",
    "邮箱",
    "微信",
    "银行卡号",
    "银行账号",
)
# Chinese headers that hold a person's name when they are the whole header (as parts of longer
# headers they are harmless: 被执行人类型, 申请人类型 are contract columns).
_ZH_WHOLE = frozenset(
    {
        "申请执行人",
        "被执行人",
        "申请人",
        "当事人",
        "法定代表人",
        "负责人",
        "联系人",
        "承办法官",
        "执行法官",
        "法官",
        "书记员",
        "执行员",
        "代理人",
        "委托代理人",
    }
)
# English/pinyin headers, normalised (lower case, no separators), personal as a whole.
_EN_WHOLE = frozenset(
    {
        "name",
        "names",
        "fullname",
        "firstname",
        "lastname",
        "givenname",
        "familyname",
        "surname",
        "forename",
        "realname",
        "idnumber",
        "idno",
        "idnum",
        "idcard",
        "idcardno",
        "idcardnumber",
        "identitycard",
        "identitynumber",
        "identityno",
        "nationalid",
        "citizenid",
        "residentid",
        "personalid",
        "ssn",
        "tel",
        "telno",
        "cell",
        "dob",
        "birthdate",
        "dateofbirth",
        "xingming",
        "sfz",
        "sfzh",
        "sfzhm",
        "shenfenzheng",
        "shenfenzhenghao",
        "shenfenzhenghaoma",
        "shouji",
        "shoujihao",
        "shoujihaoma",
        "sjh",
        "dianhua",
        "dizhi",
        "zhuzhi",
        "lianxifangshi",
    }
)
# English words that make a header personal wherever they appear as a word in it.
_EN_WORDS = frozenset(
    {
        "phone",
        "phones",
        "mobile",
        "telephone",
        "cellphone",
        "address",
        "addresses",
        "email",
        "mail",
        "passport",
        "surname",
        "birthday",
        "birthdate",
        "wechat",
        "idcard",
        "ssn",
    }
)
# "name" next to one of these words names a person (debtor_name); court_name does not.
_PERSON_WORDS = frozenset(
    {
        "debtor",
        "applicant",
        "creditor",
        "party",
        "parties",
        "handler",
        "judge",
        "person",
        "contact",
        "legal",
        "representative",
        "rep",
        "user",
        "client",
        "customer",
        "owner",
        "plaintiff",
        "defendant",
        "respondent",
        "petitioner",
        "full",
        "first",
        "last",
        "given",
        "family",
        "real",
        "clerk",
        "agent",
    }
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD_SPLIT = re.compile(r"[^0-9a-z]+")
_STRIP = re.compile(r"[\s_\-.·•/\\()（）\[\]【】:：]+")


def _words(header: str) -> list[str]:
    text = _CAMEL.sub(" ", unicodedata.normalize("NFKC", header))
    return [w for w in _WORD_SPLIT.split(text.lower()) if w]


def header_rule(header: object) -> str | None:
    """Whether a column header says the column holds personal data.

    Parameters
    ----------
    header : object
        The header cell as read.

    Returns
    -------
    str or None
        ``"header"`` when the header names personal data (a name, ID number, telephone,
        address, e-mail or birth date), else ``None``.

    Examples
    --------
    >>> header_rule("被执行人 姓名"), header_rule("ID_Card_No"), header_rule("court_name")
    ('header', 'header', None)
    """
    text = unicodedata.normalize("NFKC", str(header)).strip()
    flat = _STRIP.sub("", text).lower()
    if not flat:
        return None
    if flat in _ZH_WHOLE or flat in _EN_WHOLE or any(w in flat for w in _ZH_ANYWHERE):
        return "header"
    words = _words(text)
    if any(w in _EN_WORDS for w in words):
        return "header"
    if "name" in words or "names" in words:
        if len(words) == 1 or any(w in _PERSON_WORDS for w in words):
            return "header"
    joined = "".join(words)
    if joined in _EN_WHOLE:
        return "header"
    # id + number/no/card as words: debtor_id_number, id_no; case_id alone stays a code.
    if "id" in words and any(w in ("number", "no", "num", "card") for w in words):
        return "header"
    return None


# --------------------------------------------------------------------------------------------
# Value rules
# --------------------------------------------------------------------------------------------

# Province-level codes of the first two digits of a resident ID number (GB/T 2260).
_PROVINCES = frozenset(
    {
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
        "91",
    }
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID18 = re.compile(r"(?<![0-9])([1-9][0-9]{16}[0-9Xx])(?![0-9A-Za-z])")
_ID15 = re.compile(r"^[1-9][0-9]{14}$")
_ID15_INSIDE = re.compile(r"(?<![0-9])([1-9][0-9]{14})(?![0-9A-Za-z])")
_MOBILE = re.compile(
    r"(?<![0-9])(?:(?:\+|00)?86[\s-]?)?(1[3-9][0-9])[\s-]?([0-9]{4})[\s-]?([0-9]{4})(?![0-9])"
)
# Separators people type inside a number: spaces (a Chinese input method's full-width U+3000,
# the no-break U+00A0, the thin and zero-width spaces) and hyphens and dashes (ASCII, U+2010 to
# U+2015, the full-width U+FF0D, the minus sign). Dots are not: 13.912345678 is a ratio.
_SEP_CHARS = " \t\u00a0\u2000-\u200b\u202f\u205f\u3000\\-\u2010-\u2015\u2212\uff0d"
_SEP = f"[{_SEP_CHARS}]"
# Cheap first pass over whole columns, on the text as typed (before NFKC): anything an ID or
# mobile number could hide in, full-width digits (０１２) and separators included. The string
# holds the characters themselves (not escapes), so RE2 (pyarrow) and Python's re read it alike.
_D = "[0-9０-９]"
_PREFILTER = f"{_D}{{3}}{_SEP}*{_D}{{4}}{_SEP}*{_D}{{4}}"
# Separators between digits are dropped before the exact checks ("110105 19491231 002X").
_BETWEEN_DIGITS = re.compile(rf"(?<=[0-9]){_SEP}+(?=[0-9Xx])")
# Masking is broader than detection: any run of 11 or more digits, separators allowed between
# them (a mistyped ID, a bank card, a spaced phone number), is hidden.
_LONG_DIGITS = re.compile(rf"(?<![0-9])[0-9](?:{_SEP}*[0-9]){{10,}}(?:{_SEP}*[Xx])?")
_MASK = {
    "id_number": "〔身份证号已隐去 ID number hidden〕",
    "mobile": "〔手机号已隐去 phone hidden〕",
}


def _real_date(yyyy: int, mm: int, dd: int) -> bool:
    try:
        born = dt.date(yyyy, mm, dd)
    except ValueError:
        return False
    return dt.date(1900, 1, 1) <= born <= dt.date.today()


def is_id_number(text: str) -> bool:
    """Whether ``text`` is exactly a valid Chinese resident ID number (18- or 15-digit form).

    An 18-character number needs a province code, a real birth date (1900 to today) and the
    ISO 7064 MOD 11-2 check digit; a 15-digit (pre-1999) one a province code and a real
    birth date in 1900-1999. A random 18-digit number passes about 1 time in 4,000.

    Examples
    --------
    >>> is_id_number("11010519491231002X"), is_id_number("110105194912310021")
    (True, False)
    """
    s = unicodedata.normalize("NFKC", text).strip()
    if len(s) == 18 and s[:17].isdigit() and s[:17].isascii():
        if s[:2] not in _PROVINCES or not _real_date(int(s[6:10]), int(s[10:12]), int(s[12:14])):
            return False
        total = sum(int(c) * w for c, w in zip(s[:17], _ID_WEIGHTS, strict=True))
        return _ID_CHECK[total % 11] == s[17].upper()
    if len(s) == 15 and _ID15.match(s):
        return s[:2] in _PROVINCES and _real_date(1900 + int(s[6:8]), int(s[8:10]), int(s[10:12]))
    return False


def value_rule(text: object, *, mobile: bool = True) -> str | None:
    """Which personal-data rule a cell breaks, if any.

    Parameters
    ----------
    text : object
        The cell (as text, or a number).
    mobile : bool
        Also look for mobile numbers (off for money columns, where 13-20 billion yuan would
        otherwise look like a phone number).

    Returns
    -------
    str or None
        ``"id_number"``, ``"mobile"`` or ``None``.

    Examples
    --------
    >>> value_rule("申请人电话 138-1234-5678"), value_rule("(2023)湘0103执1234号")
    ('mobile', None)
    """
    if text is None or text is pd.NA or (isinstance(text, float) and np.isnan(text)):
        return None
    s = unicodedata.normalize("NFKC", str(text))
    # As typed, and with the separators between digits dropped; both, because dropping them
    # can also glue a date to the phone number after it ("2024-01-31 13812345678").
    for form in dict.fromkeys((s, _BETWEEN_DIGITS.sub("", s))):
        if any(is_id_number(m.group(1)) for m in _ID18.finditer(form)):
            return "id_number"
        if any(is_id_number(m.group(1)) for m in _ID15_INSIDE.finditer(form)):
            return "id_number"
    if mobile and any(_MOBILE.search(form) for form in (s, _BETWEEN_DIGITS.sub("", s))):
        return "mobile"
    return None


def scan_values(text: pd.Series, *, mobile: bool = True) -> dict[str, pd.Index]:
    """Rows of a column whose cells break a value rule, by rule.

    A vectorised first pass keeps only cells with 11 digits in a row (or a phone number with
    separators); only those distinct values are checked exactly, so a million-row column of
    case numbers costs one regular-expression pass.

    Parameters
    ----------
    text : pandas.Series
        The column as text (missing values as NA).
    mobile : bool
        As :func:`value_rule`.

    Returns
    -------
    dict of str to pandas.Index
        Rule -> index labels of the rows that break it (rules with no row are left out).
    """
    if len(text) == 0:
        return {}
    as_str = text.astype("string")
    # RE2 through pyarrow: about ten times faster than pandas' str.contains on 1M cells.
    try:
        cells = pa.array(as_str)  # zero-copy for pandas' Arrow-backed strings
        if not pa.types.is_string(cells.type) and not pa.types.is_large_string(cells.type):
            cells = pa.array(as_str.astype(object), type=pa.string(), from_pandas=True)
        hits = pc.match_substring_regex(cells, _PREFILTER).fill_null(False)
        maybe = np.asarray(hits.to_numpy(zero_copy_only=False), dtype=bool)
    except (pa.ArrowException, UnicodeError):  # text that is not valid UTF-8 (lone surrogates)
        maybe = as_str.str.contains(_PREFILTER, regex=True).fillna(False).to_numpy(dtype=bool)
    if not maybe.any():
        return {}
    candidates = as_str[maybe]
    verdict = {v: value_rule(v, mobile=mobile) for v in candidates.unique()}
    rules = candidates.map(verdict)
    return {
        rule: rules.index[(rules == rule).to_numpy()]
        for rule in ("id_number", "mobile")
        if (rules == rule).any()
    }


def mask_text(text: object) -> str:
    """``text`` with every ID number, mobile number and long digit run replaced by a marker.

    Used on every value that goes into a message, so no message can carry personal data.

    Examples
    --------
    >>> mask_text("电话13812345678")
    '电话〔手机号已隐去 phone hidden〕'
    """
    s = unicodedata.normalize("NFKC", "" if text is None else str(text))
    s = _ID18.sub(lambda m: _MASK["id_number"] if is_id_number(m.group(1)) else m.group(0), s)
    s = _ID15_INSIDE.sub(
        lambda m: _MASK["id_number"] if is_id_number(m.group(1)) else m.group(0), s
    )
    s = _MOBILE.sub(_MASK["mobile"], s)
    return _LONG_DIGITS.sub(
        lambda m: f"〔{len(_BETWEEN_DIGITS.sub('', m.group(0)))}位数字已隐去 digits hidden〕", s
    )
