/**
 * A cron expression in words, for the schedule dialog's preview (pure; unit-tested).
 * Five fields `minute hour day-of-month month day-of-week`, optionally a leading seconds field.
 * Each phrase is one msgid with placeholders (`every %1 minutes`), so a translation can
 * reorder it; the English (msgids as written) is what the tests assert.
 */
import { __ } from './i18n';

// Functions, not constants: the words are looked up when shown (the translator is set
// after this module loads), each as a literal msgid a string extractor can find.
const DAYS = (): string[] => [
  __('Sunday'),
  __('Monday'),
  __('Tuesday'),
  __('Wednesday'),
  __('Thursday'),
  __('Friday'),
  __('Saturday')
];
const MONTHS = (): string[] => [
  '',
  __('January'),
  __('February'),
  __('March'),
  __('April'),
  __('May'),
  __('June'),
  __('July'),
  __('August'),
  __('September'),
  __('October'),
  __('November'),
  __('December')
];
const DAY_NAMES: Record<string, number> = {
  sun: 0,
  mon: 1,
  tue: 2,
  wed: 3,
  thu: 4,
  fri: 5,
  sat: 6
};

const NUMBER = /^\d+$/;
const STEP = /^\*\/(\d+)$/;

function name(value: string, names?: typeof DAYS): string {
  if (!names) {
    return value;
  }
  const key = value.toLowerCase();
  const index = key in DAY_NAMES && names === DAYS ? DAY_NAMES[key] : Number(value);
  return names()[index % (names === DAYS ? 7 : 13)] || value;
}

function joinWords(items: string[]): string {
  if (items.length <= 1) {
    return items.join('');
  }
  return __('%1 and %2', items.slice(0, -1).join(', '), items[items.length - 1]);
}

/** `1-5` -> `Monday through Friday`, `1,3` -> `Monday and Wednesday`, `*\/2` -> `every 2nd`. */
function describeList(field: string, names?: typeof DAYS): string {
  const step = STEP.exec(field);
  if (step) {
    return __('every %1', ordinal(Number(step[1])));
  }
  const items = field.split(',').map(part => {
    const [range, every] = part.split('/');
    const [from, to] = range.split('-');
    const text =
      to !== undefined
        ? __('%1 through %2', name(from, names), name(to, names))
        : name(from, names);
    return every ? __('%1 (every %2)', text, ordinal(Number(every))) : text;
  });
  return joinWords(items);
}

function ordinal(n: number): string {
  const last = n % 100 >= 11 && n % 100 <= 13 ? 0 : n % 10;
  return last === 1
    ? __('%1st', n)
    : last === 2
      ? __('%1nd', n)
      : last === 3
        ? __('%1rd', n)
        : __('%1th', n);
}

function pad(value: string): string {
  return value.padStart(2, '0');
}

/** The minute and hour fields in words; `clock`: at given times of day (then "every day"). */
function timePhrase(minute: string, hour: string): { text: string; clock: boolean } {
  if (NUMBER.test(minute) && NUMBER.test(hour)) {
    return { text: __('at %1:%2', pad(hour), pad(minute)), clock: true };
  }
  const minuteStep = STEP.exec(minute);
  const hourStep = STEP.exec(hour);
  if (hour === '*') {
    if (minute === '*') {
      return { text: __('every minute'), clock: false };
    }
    if (minuteStep) {
      return { text: __('every %1 minutes', minuteStep[1]), clock: false };
    }
    return { text: __('at minute %1 of every hour', describeList(minute)), clock: false };
  }
  const minutes = minute === '*' ? __('every minute') : __('at minute %1', describeList(minute));
  if (hourStep) {
    return {
      text: __('%1 past every %2 hour', minutes, ordinal(Number(hourStep[1]))),
      clock: false
    };
  }
  if (NUMBER.test(minute) && /^[\d,]+$/.test(hour)) {
    const times = hour.split(',').map(h => __('%1:%2', pad(h), pad(minute)));
    return { text: __('at %1', joinWords(times)), clock: true };
  }
  return { text: __('%1 past hour %2', minutes, describeList(hour)), clock: false };
}

/** The expression in words ('' when it does not have 5 or 6 fields). */
export function describeCron(expression: string): string {
  const fields = expression.trim().split(/\s+/).filter(Boolean);
  if (fields.length !== 5 && fields.length !== 6) {
    return '';
  }
  const seconds = fields.length === 6 ? fields.shift()! : null;
  const [minute, hour, dom, month, dow] = fields;
  const parts: string[] = [];
  if (seconds !== null && seconds !== '0') {
    const step = STEP.exec(seconds);
    parts.push(
      seconds === '*'
        ? __('every second')
        : step
          ? __('every %1 seconds', step[1])
          : __('at second %1', describeList(seconds))
    );
  }
  const time = timePhrase(minute, hour);
  parts.push(time.text);
  if (dom === '*' && dow === '*') {
    if (time.clock) {
      parts.push(__('every day'));
    }
  } else if (dom !== '*' && dow !== '*') {
    parts.push(__('on day %1 of the month and %2', describeList(dom), describeList(dow, DAYS)));
  } else if (dom !== '*') {
    parts.push(__('on day %1 of the month', describeList(dom)));
  } else {
    parts.push(__('on %1', describeList(dow, DAYS)));
  }
  if (month !== '*') {
    parts.push(__('in %1', describeList(month, MONTHS)));
  }
  const text = parts.join(', ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}
