#include "pp_time.h"

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar: count
 * in eras of 400 years starting on March 1st, so that the leap day is the
 * last day of the (shifted) year. */
static int64_t time_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe;
    unsigned doy;
    unsigned doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* The inverse of time_days_from_civil. */
static void time_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era;
    unsigned doe;
    unsigned yoe;
    unsigned doy;
    unsigned mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool time_is_leap(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Reads exactly n ASCII digits. */
static bool time_digits(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return true;
}

bool pp_time_parse(const char *s, size_t len, int64_t *epoch_seconds)
{
    static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned y, mo, d, h, mi, sec, zh, zm;
    int64_t offset = 0;
    size_t i;

    /* "YYYY?MM?DD?HH:MM:SS" is 19 bytes. */
    if (len < 19)
        return false;
    if (!time_digits(s, 4, &y) || !time_digits(s + 5, 2, &mo) || !time_digits(s + 8, 2, &d) ||
        !time_digits(s + 11, 2, &h) || !time_digits(s + 14, 2, &mi) ||
        !time_digits(s + 17, 2, &sec))
        return false;
    if (s[4] == '-' && s[7] == '-') {
        if (s[10] != ' ' && s[10] != 'T')
            return false;
    } else if (s[4] == ':' && s[7] == ':') {
        if (s[10] != ' ')
            return false;
    } else {
        return false;
    }
    if (s[13] != ':' || s[16] != ':')
        return false;
    i = 19;
    if (i < len && s[i] == '.') {
        size_t start = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start)
            return false;
    }
    if (i < len && s[i] == 'Z') {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        if (len - i < 6 || s[i + 3] != ':' || !time_digits(s + i + 1, 2, &zh) ||
            !time_digits(s + i + 4, 2, &zm) || zh > 23 || zm > 59)
            return false;
        offset = (int64_t)(zh * 3600 + zm * 60);
        if (s[i] == '-')
            offset = -offset;
        i += 6;
    }
    if (i != len)
        return false;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59)
        return false;
    if (d > mdays[mo - 1] + (mo == 2 && time_is_leap(y)))
        return false;
    *epoch_seconds = time_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
    return true;
}

void pp_time_civil_from_days(int64_t days, int *year, int *month, int *day)
{
    int64_t y;
    unsigned m;
    unsigned d;

    time_civil_from_days(days, &y, &m, &d);
    *year = (int)y;
    *month = (int)m;
    *day = (int)d;
}

int pp_time_year(int64_t t)
{
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t y;
    unsigned m;
    unsigned d;

    time_civil_from_days(days, &y, &m, &d);
    return (int)y;
}

void pp_time_format(int64_t t, char out[19])
{
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t secs = t - days * 86400;
    int64_t y;
    unsigned m;
    unsigned d;
    unsigned v[6];
    int i;

    time_civil_from_days(days, &y, &m, &d);
    v[0] = (unsigned)y;
    v[1] = m;
    v[2] = d;
    v[3] = (unsigned)(secs / 3600);
    v[4] = (unsigned)(secs / 60 % 60);
    v[5] = (unsigned)(secs % 60);
    /* Years stay 4 digits: offsets can move 0001-01-01 or 9999-12-31 by
     * under a day, and those edge years print as they are. */
    out[0] = (char)('0' + v[0] / 1000 % 10);
    out[1] = (char)('0' + v[0] / 100 % 10);
    out[2] = (char)('0' + v[0] / 10 % 10);
    out[3] = (char)('0' + v[0] % 10);
    for (i = 1; i < 6; i++) {
        out[3 * i + 2] = (char)('0' + v[i] / 10);
        out[3 * i + 3] = (char)('0' + v[i] % 10);
    }
    out[4] = out[7] = '-';
    out[10] = 'T';
    out[13] = out[16] = ':';
}
