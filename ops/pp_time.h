/*
 * pp_time: the timestamp rules of SPEC 1 and docs/semantics.md.
 *
 * Accepted: "YYYY-MM-DD HH:MM:SS", "YYYY-MM-DDTHH:MM:SS" and
 * "YYYY:MM:DD HH:MM:SS", each optionally followed by ".fraction" (dropped)
 * and "Z" or "+HH:MM"/"-HH:MM" (subtracted, giving UTC). Times are seconds
 * since 1970-01-01T00:00:00 UTC. Pure functions, any thread.
 */
#ifndef PP_TIME_H
#define PP_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses s[0..len); false when it is not a valid timestamp (an impossible
 * date or time, or any other shape). */
bool pp_time_parse(const char *s, size_t len, int64_t *epoch_seconds);

/* The Gregorian date of a day count since 1970-01-01 (negative before). */
void pp_time_civil_from_days(int64_t days, int *year, int *month, int *day);

/* The UTC calendar year of a time. */
int pp_time_year(int64_t epoch_seconds);

/* Writes "YYYY-MM-DDTHH:MM:SS" (19 bytes, no NUL) into out. */
void pp_time_format(int64_t epoch_seconds, char out[19]);

#endif
