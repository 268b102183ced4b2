"""Regular expressions and lookup tables shared by the pure-Python and the Spark code paths.

Every pattern here is compiled by Python's ``re`` *and* handed verbatim to Java's
``java.util.regex`` through Spark. They are written in the dialect both engines read the
same way: explicit character classes only (no ``\\d``, ``\\w``, ``\\s`` or ``\\b``, whose
meaning differs between the two for non-ASCII text), fixed-length look-behinds, ``\\uXXXX``
escapes, and no ``$`` anchor (Java's and Python's disagree before a trailing newline; the
Python side uses ``fullmatch`` and the Spark side wraps patterns with :func:`anchored`).
"""

from __future__ import annotations

from typing import Final

# --- whitespace ---------------------------------------------------------------------------

WHITESPACE_CHARS: Final = (
    "\t\n\x0b\x0c\r \x1c\x1d\x1e\x1f\x85\xa0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200C))
    + "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
"""Characters trimmed from both ends of every input (ASCII and Unicode spaces, zero-width
space and BOM). A literal set, so Python's ``str.strip`` and Spark's ``trim(col, chars)``
remove exactly the same characters."""

WS: Final = (
    r"\t\n\x0b\x0c\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
)
"""The same whitespace set as a character-class body (without brackets)."""


def anchored(pattern: str) -> str:
    """Wrap a pattern for a whole-string match in Java (Python uses ``re.fullmatch``)."""
    return rf"^(?:{pattern})\z"


# --- e-mail --------------------------------------------------------------------------------

_EMAIL_FORBIDDEN: Final = WS + r"\x00-\x1f\x7f@\"(),:;<>\[\]\\"
EMAIL: Final = (
    rf"[^{_EMAIL_FORBIDDEN}]+@[^{_EMAIL_FORBIDDEN}.]+(?:\.[^{_EMAIL_FORBIDDEN}.]+){{1,126}}"
)
"""A trimmed, lower-cased e-mail: one ``@``, a non-empty local part, a domain of at least two
non-empty dot-separated labels (at most 127, as in DNS), and no whitespace, control
characters or the RFC 5322 specials that cannot appear unquoted (quoted local parts are not
supported)."""

GMAIL_DOMAINS: Final = ("gmail.com", "googlemail.com")

# --- identifiers that carry an e-mail or phone -------------------------------------------

MAILTO_PREFIX: Final = "^mailto:"
"""A ``mailto:`` URI scheme in front of an identifier (applied to lower-cased text)."""

NAMED_ADDRESS: Final = r"[^<>]*<([^<>]*)>[^<>]*"
"""``Display Name <address>``: group 1 is the text between the only pair of angle brackets.
Each part excludes the brackets, so there is exactly one way to match (linear time)."""

IDENTIFIER_EDGE_CHARS: Final = WHITESPACE_CHARS + ".;,"
"""Stripped from both ends of an e-mail found in an identifier: whitespace and the
punctuation a list or sentence leaves behind (``jane@example.com.``, ``jane@example.com;``)."""

TEL_PREFIX: Final = "^[tT][eE][lL]:"
"""A ``tel:`` URI scheme in front of a phone number used as an identifier."""

# --- phone ---------------------------------------------------------------------------------

PHONE_SYNTAX: Final = rf"(?:\+|\(\+)?[0-9()./\-{WS}]+"
"""What a phone number may look like before libphonenumber reads it: an optional leading
``+`` (or ``(+``), then digits and the usual separators. Letters (extensions, vanity
numbers) are rejected rather than guessed at; it is also the cheap pre-filter that keeps
text that cannot be a number away from the parser."""

PHONE_PLUS_PREFIX: Final = r"^\(?\+"

COUNTRY_CALLING_CODE: Final = r"[1-9][0-9]{0,2}"

# --- names and places ----------------------------------------------------------------------

NON_LETTER: Final = r"[^\p{L}\p{M}]"
"""Java only: anything that is not a Unicode letter or combining mark (Python's ``re`` has no
``\\p{...}``; the pure side filters with ``unicodedata.category``)."""

HONORIFIC_PREFIX: Final = rf"^(?:mr|mrs|ms|miss|mx|dr|prof|sir|madam|mme|mlle)\.?[{WS}]+"
GENERATIONAL_SUFFIX: Final = rf"(?<![{WS},])[{WS},]++(?:jr|sr|ii|iii|iv|phd|md|esq)\.?(?![\s\S])"
"""Applied to trimmed, lower-cased names (Google: "don't include prefixes such as Mrs." /
"suffixes such as Jr.")."""

INTERNAL_WHITESPACE: Final = rf"[{WS}]+"

BIRTH_YEAR: Final = r"((?:19|20)[0-9]{2})(?:-[0-9]{2}-[0-9]{2}(?:[T ][0-9:.]+Z?)?)?"
"""A year 1900-2099, alone or as the start of an ISO date or date-time (group 1 is the year)."""

US_ZIP: Final = r"([0-9]{5})(?:-?[0-9]{4})?"
UK_POSTCODE: Final = r"([a-z]{1,2}[0-9][a-z0-9]?)([0-9])[a-z]{2}"
"""A UK postcode with spaces removed; groups are the outward code and the sector digit."""
POSTCODE_CHARS: Final = r"[a-z0-9\-]{2,12}"
"""Lower-cased postcode with whitespace removed: ASCII letters, digits and dashes only."""
POSTCODE_CHARS_SPACED: Final = r"[a-z0-9\- ]{2,14}"

US_STATES: Final[dict[str, str]] = {
    "alabama": "al", "alaska": "ak", "arizona": "az", "arkansas": "ar", "california": "ca",
    "colorado": "co", "connecticut": "ct", "delaware": "de", "districtofcolumbia": "dc",
    "florida": "fl", "georgia": "ga", "hawaii": "hi", "idaho": "id", "illinois": "il",
    "indiana": "in", "iowa": "ia", "kansas": "ks", "kentucky": "ky", "louisiana": "la",
    "maine": "me", "maryland": "md", "massachusetts": "ma", "michigan": "mi",
    "minnesota": "mn", "mississippi": "ms", "missouri": "mo", "montana": "mt",
    "nebraska": "ne", "nevada": "nv", "newhampshire": "nh", "newjersey": "nj",
    "newmexico": "nm", "newyork": "ny", "northcarolina": "nc", "northdakota": "nd",
    "ohio": "oh", "oklahoma": "ok", "oregon": "or", "pennsylvania": "pa",
    "rhodeisland": "ri", "southcarolina": "sc", "southdakota": "sd", "tennessee": "tn",
    "texas": "tx", "utah": "ut", "vermont": "vt", "virginia": "va", "washington": "wa",
    "westvirginia": "wv", "wisconsin": "wi", "wyoming": "wy", "puertorico": "pr",
    "guam": "gu", "americansamoa": "as", "northernmarianaislands": "mp",
    "usvirginislands": "vi", "virginislands": "vi",
}  # fmt: skip
"""US state and territory names (letters only, lower case) to their ANSI/USPS codes."""

_ISO_3166_ALPHA2_TEXT: Final = """
    ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm bn bo bq
    br bs bt bv bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm
    do dz ec ee eg eh er es et fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs
    gt gu gw gy hk hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki km kn
    kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mf mg mh mk ml mm mn mo mp mq
    mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm
    pn pr ps pt pw py qa re ro rs ru rw sa sb sc sd se sg sh si sj sk sl sm sn so sr ss st sv
    sx sy sz tc td tf tg th tj tk tl tm tn to tr tt tv tw tz ua ug um us uy uz va vc ve vg vi
    vn vu wf ws ye yt za zm zw
    """
ISO_3166_ALPHA2: Final = frozenset(_ISO_3166_ALPHA2_TEXT.split())
"""The 249 officially assigned ISO 3166-1 alpha-2 codes, lower case."""

_ISO_3166_ALPHA3_TEXT: Final = """
    abw:aw afg:af ago:ao aia:ai ala:ax alb:al and:ad are:ae arg:ar arm:am asm:as ata:aq
    atf:tf atg:ag aus:au aut:at aze:az bdi:bi bel:be ben:bj bes:bq bfa:bf bgd:bd bgr:bg
    bhr:bh bhs:bs bih:ba blm:bl blr:by blz:bz bmu:bm bol:bo bra:br brb:bb brn:bn btn:bt
    bvt:bv bwa:bw caf:cf can:ca cck:cc che:ch chl:cl chn:cn civ:ci cmr:cm cod:cd cog:cg
    cok:ck col:co com:km cpv:cv cri:cr cub:cu cuw:cw cxr:cx cym:ky cyp:cy cze:cz deu:de
    dji:dj dma:dm dnk:dk dom:do dza:dz ecu:ec egy:eg eri:er esh:eh esp:es est:ee eth:et
    fin:fi fji:fj flk:fk fra:fr fro:fo fsm:fm gab:ga gbr:gb geo:ge ggy:gg gha:gh gib:gi
    gin:gn glp:gp gmb:gm gnb:gw gnq:gq grc:gr grd:gd grl:gl gtm:gt guf:gf gum:gu guy:gy
    hkg:hk hmd:hm hnd:hn hrv:hr hti:ht hun:hu idn:id imn:im ind:in iot:io irl:ie irn:ir
    irq:iq isl:is isr:il ita:it jam:jm jey:je jor:jo jpn:jp kaz:kz ken:ke kgz:kg khm:kh
    kir:ki kna:kn kor:kr kwt:kw lao:la lbn:lb lbr:lr lby:ly lca:lc lie:li lka:lk lso:ls
    ltu:lt lux:lu lva:lv mac:mo maf:mf mar:ma mco:mc mda:md mdg:mg mdv:mv mex:mx mhl:mh
    mkd:mk mli:ml mlt:mt mmr:mm mne:me mng:mn mnp:mp moz:mz mrt:mr msr:ms mtq:mq mus:mu
    mwi:mw mys:my myt:yt nam:na ncl:nc ner:ne nfk:nf nga:ng nic:ni niu:nu nld:nl nor:no
    npl:np nru:nr nzl:nz omn:om pak:pk pan:pa pcn:pn per:pe phl:ph plw:pw png:pg pol:pl
    pri:pr prk:kp prt:pt pry:py pse:ps pyf:pf qat:qa reu:re rou:ro rus:ru rwa:rw sau:sa
    sdn:sd sen:sn sgp:sg sgs:gs shn:sh sjm:sj slb:sb sle:sl slv:sv smr:sm som:so spm:pm
    srb:rs ssd:ss stp:st sur:sr svk:sk svn:si swe:se swz:sz sxm:sx syc:sc syr:sy tca:tc
    tcd:td tgo:tg tha:th tjk:tj tkl:tk tkm:tm tls:tl ton:to tto:tt tun:tn tur:tr tuv:tv
    twn:tw tza:tz uga:ug ukr:ua umi:um ury:uy usa:us uzb:uz vat:va vct:vc ven:ve vgb:vg
    vir:vi vnm:vn vut:vu wlf:wf wsm:ws yem:ye zaf:za zmb:zm zwe:zw
    """
ISO_3166_ALPHA3: Final[dict[str, str]] = {
    alpha3: alpha2 for alpha3, alpha2 in (pair.split(":") for pair in _ISO_3166_ALPHA3_TEXT.split())
}
"""ISO 3166-1 alpha-3 codes to alpha-2 (from the iso-codes project's ``iso_3166-1.json``)."""

COUNTRY_ALIASES: Final[dict[str, str]] = {
    **ISO_3166_ALPHA3,
    "uk": "gb",  # exceptionally reserved by ISO for the United Kingdom
    "unitedkingdom": "gb",
    "greatbritain": "gb",
    "unitedstates": "us",
    "unitedstatesofamerica": "us",
}
"""Spellings mapped to their alpha-2 code: alpha-3 codes and a few common names (spaces and
dots removed, lower case). Other country names are not guessed."""

# --- IP addresses --------------------------------------------------------------------------

_OCTET: Final = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
IPV4: Final = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
"""Dotted-quad IPv4 without leading zeros (as Python's ``ipaddress`` requires)."""


def _ipv6_pattern() -> str:
    hextet = "[0-9a-f]{1,4}"

    def groups(n: int) -> str:
        return "" if n == 0 else hextet + (f"(?::{hextet}){{{n - 1}}}" if n > 1 else "")

    alternatives = [groups(8), f"{groups(6)}:{IPV4}"]
    for left in range(8):
        for right in range(8 - left):
            alternatives.append(f"{groups(left)}::{groups(right)}")
        for right in range(6 - left):
            tail = f"{groups(right)}:{IPV4}" if right else IPV4
            alternatives.append(f"{groups(left)}::{tail}")
    return "|".join(f"(?:{alternative})" for alternative in alternatives)


IPV6: Final = _ipv6_pattern()
"""Lower-case IPv6 text: eight hextets, or fewer around one ``::``, optionally ending in an
embedded dotted quad (zone ids such as ``%eth0`` are not accepted)."""

# --- masking free text ---------------------------------------------------------------------

_WORD_NON_ASCII: Final = (
    r"\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u1fff\u2c00-\u2dff\u3040-\ud7ff"
    r"\uf900-\ufdff\ufe70-\ufefe\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\uff66-\uffdc"
)
_LOCAL_CHAR: Final = r"A-Za-z0-9_%+\-!#$*\^~.'\\" + _WORD_NON_ASCII
_AT: Final = r"@|\uff20|(?<!\\)\\++u0040|%40|&#0*+64;|&#[xX]0*+40;"
_DOT: Final = r"\.|\\++u002[eE]|%2[eE]"
_DOMAIN_CHAR: Final = r"A-Za-z0-9_\-" + _WORD_NON_ASCII
# The start of an escaped ``@`` cut off by the end of a truncated line (``%4``, ``\\u00``, ``&#6``).
_AT_CUT: Final = r"%4|(?<!\\)\\++(?:u(?:0(?:0(?:4)?)?)?)?|&#(?:[xX]0*+4?|0*+6?)"
# A local part with a character other than a digit, for a bare trailing ``%`` (``jane%``, the
# first character of ``%40``) -- so that ``100%`` at the end of a search stays readable.
_LOCAL_NON_DIGIT: Final = r"A-Za-z_+\-!#$*\^~.'\\" + _WORD_NON_ASCII
EMAIL_IN_TEXT: Final = (
    rf"((?:[{_LOCAL_CHAR}]{{1,64}}(?:(?:{_AT})"
    rf"(?:[{_DOMAIN_CHAR}]+(?:(?:{_DOT})[{_DOMAIN_CHAR}]+){{0,16}}|(?![\s\S]))"
    rf"|(?:{_AT_CUT})(?![\s\S])))"
    rf"|(?=[0-9]{{0,64}}[{_LOCAL_NON_DIGIT}])[{_LOCAL_CHAR}]{{1,64}}%(?![\s\S]))"
)
"""An e-mail-looking substring (group 1), also when its ``@`` or dots are written as JSON
``\\u0040`` escapes (any number of backslashes), URL-encoded ``%40`` or HTML ``&#64;``, and
when it is cut off right after the ``@`` -- or inside an escaped ``@`` -- at the end of a
truncated line.

The local part is the run of up to 64 characters (RFC 5321's limit) that may appear in one
-- including ``\\``, so JSON escapes (``ren\\u00e9e``) stay inside it. The bound keeps the
scan linear: from each position at most 64 characters are tried. Every repetition is a plain
character class or bounded, because Java's regex engine recurses once per iteration of a
repeated group and a ``StackOverflowError`` in an executor kills the whole Spark
application: no input may drive a group's repetition count with its length."""

_PHONE_SEPARATOR: Final = r"[ .\-()/\u00a0]"
PHONE_IN_TEXT: Final = rf"((?:\+|\(\+?)?[0-9](?:{_PHONE_SEPARATOR}{{0,3}}[0-9]){{6,24}})"
"""A phone-looking substring (group 1): 7 to 25 digits, separated by at most three of
space . - ( ) / each, with an optional leading ``+`` or ``(``. A longer digit sequence is
masked as several matches."""

_HEX: Final = "[0-9a-fA-F]"
_YEAR: Final = "(?:19|20)[0-9]{2}"
MASK_TOKEN: Final = "<(?:email|phone|ip|name|address|birthday):[0-9a-f]{8}>"
"""A token that replaced personal data (kind and the first 8 hex of a SHA-256)."""

READABLE_IN_TEXT: Final = "|".join(
    [
        # a mask token from an earlier pass, so masking twice changes nothing
        MASK_TOKEN,
        # uuid
        rf"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}",
        # ISO-8601 date or date-time with optional fraction and offset
        rf"{_YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
        r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]{1,9})?)?"
        r"(?:Z|[+\-][0-9]{2}(?::?[0-9]{2})?)?)?(?![0-9])",
        # day/month/year dates with one separator kind
        rf"[0-9]{{1,2}}/[0-9]{{1,2}}/{_YEAR}(?![0-9])",
        rf"[0-9]{{1,2}}\.[0-9]{{1,2}}\.{_YEAR}(?![0-9])",
        rf"[0-9]{{1,2}}-[0-9]{{1,2}}-{_YEAR}(?![0-9])",
    ]
)
"""Values that look like phone numbers to :data:`PHONE_IN_TEXT` but are not personal data
(mask tokens, uuids, ISO timestamps, dates): matched first so they stay readable."""

_SEP: Final = r"[_\-]?"
NAME_KEYS: Final = (
    rf"(?:(?:first|last|full|middle|given|family|sur|display|user|maiden){_SEP})?name"
)
ADDRESS_KEYS: Final = (
    rf"street(?:{_SEP}address)?|address(?:{_SEP}(?:line)?{_SEP}[1-3])?|home{_SEP}address"
)
BIRTHDAY_KEYS: Final = rf"birth{_SEP}(?:day|date)|date{_SEP}of{_SEP}birth|dob"
IP_KEYS: Final = rf"ip(?:{_SEP}address)?|client{_SEP}ip|remote{_SEP}addr(?:ess)?"
PERSONAL_KEY: Final = rf"(?:{NAME_KEYS}|{ADDRESS_KEYS}|{BIRTHDAY_KEYS}|{IP_KEYS})"
"""Keys whose values are personal data: names, street addresses, birthdays, IP addresses
(case-insensitive, with ``_``, ``-`` or nothing between words: ``first_name``,
``firstName``, ``first-name``). City, region, postcode and country are coarse and stay."""

KEY_VALUE_IN_TEXT: Final = (
    # group 1: the backslashes escaping the key's quotes (JSON escaped 0-16 times)
    rf"(?<![A-Za-z0-9_\\])(\\{{0,16}})\"?(?i:({PERSONAL_KEY}))\1\"?"
    rf"[{WS}]{{0,8}}[:=][{WS}]{{0,8}}"
    rf"(?!\1\"?{MASK_TOKEN})"
    # group 3: a quoted value, up to its closing quote (escaped quotes inside are skipped)
    # or 512 characters; group 4: an unquoted value (number, key=value text)
    rf"(?:\1\"((?:\1\1\\\"|(?!\1\")[^\r\n]){{1,512}})"
    rf"|([^{WS},;&\"{{}}\[\]\\<>][^,;&\"{{}}\[\]\\<>\r\n]{{0,127}}))"
)
"""The value under a personal key, in JSON (also escaped JSON) and ``key=value`` text.
Group 1 holds the key's escaping backslashes (the value's quotes carry the same), group 2
the key, group 3 a quoted value, group 4 an unquoted one. Every repetition is bounded, so
the scan stays linear and never deepens Java's regex stack with the input's length."""

KEY_VALUE_KEY_GROUP: Final = 2
KEY_VALUE_QUOTED_GROUP: Final = 3
KEY_VALUE_BARE_GROUP: Final = 4

IP_IN_TEXT: Final = (
    # the look-aheads reject most positions before the long IPv6 alternation is tried
    rf"(?=[0-9]{{1,3}}\.)(?<![0-9.]){IPV4}(?![0-9]|\.[0-9])"
    rf"|(?=[0-9A-Fa-f]{{0,4}}:)(?<![0-9A-Za-z.:])(?<![0-9a-f]{{8}}>)(?i:{IPV6})(?![0-9A-Za-z:.])"
)
"""An IPv4 or IPv6 address standing alone in text (not part of a longer dotted or
colon-separated run, nor right after a mask token such as ``<email:75f4499b>``, which
stands where letters stood: masking masked text changes nothing). A four-part version
number (``1.2.3.4``) is an IPv4 address to this pattern and is masked: the two cannot be
told apart, and a leaked address is worse."""

PII_IN_TEXT: Final = (
    rf"(?:{READABLE_IN_TEXT})|{KEY_VALUE_IN_TEXT}|{EMAIL_IN_TEXT}|((?:{IP_IN_TEXT}))"
    rf"|{PHONE_IN_TEXT}"
)
"""One scan over free text: values under personal keys (groups 1-4), e-mails (group 5),
IP addresses (group 6), phone numbers (group 7); readable values are consumed without a
group so nothing can start inside them. The key-value part comes first so that its
backreference is group 1 here as in :data:`KEY_VALUE_IN_TEXT`."""

PERSONAL_KEY_STEMS: Final = ("name", "addr", "street", "birth", "dob", "ip")
"""A lower-cased substring of every :data:`PERSONAL_KEY`."""
PERSONAL_KEY_HINT: Final = rf"(?i:{PERSONAL_KEY})[\\\"]{{0,17}}[{WS}]{{0,8}}[:=]"
"""Found in every text :data:`KEY_VALUE_IN_TEXT` matches."""
IP_HINT: Final = r"[0-9]\.[0-9]|[0-9a-fA-F]:[0-9a-fA-F]|::"
"""Found in every text :data:`IP_IN_TEXT` matches."""

AT_FORMS: Final = _AT
"""Found in every e-mail match and in no other match of :data:`PII_IN_TEXT`: tells the
kinds of matches apart without scanning the text once per group."""

ESCAPED_EMAIL_PUNCTUATION: Final[tuple[tuple[str, str], ...]] = (
    (r"^(?:\\+[nrtbf]|['.])+", ""),
    (r"\\+u0040|%40|&#0*64;|&#[xX]0*40;|\uff20", "@"),
    (r"\\+u002[eE]|%2[eE]", "."),
    (r"\\+u002[bB]|%2[bB]", "+"),
    (r"\\+u002[dD]", "-"),
    (r"\\+u005[fF]", "_"),
)
"""Replacements, applied in order, that turn an escaped e-mail found in text back into the
address it stands for before it is normalised and hashed for its mask token (a leading JSON
escape such as ``\\n``, quote or dot is not part of the address)."""
