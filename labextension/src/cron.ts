/**
 * A cron expression in words, for the schedule dialog's preview (pure; unit-tested).
 * Five fields `minute hour day-of-month month day-of-week`, optionally a leading seconds field.
 */

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = [
  '',
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December'
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

function name(value: string, names?: string[]): string {
  if (!names) {
    return value;
  }
  const key = value.toLowerCase();
  const index = key in DAY_NAMES && names === DAYS ? DAY_NAMES[key] : Number(value);
  return names[index % (names === DAYS ? 7 : 13)] || value;
}

function joinWords(items: string[]): string {
  if (items.length <= 1) {
    return items.join('');
  }
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** `1-5` -> `Monday through Friday`, `1,3` -> `Monday and Wednesday`, `*\/2` -> `every 2nd`. */
function describeList(field: string, names?: string[]): string {
  const step = STEP.exec(field);
  if (step) {
    return `every ${ordinal(Number(step[1]))}`;
  }
  const items = field.split(',').map(part => {
    const [range, every] = part.split('/');
    const [from, to] = range.split('-');
    let text =
      to !== undefined ? `${name(from, names)} through ${name(to, names)}` : name(from, names);
    if (every) {
      text += ` (every ${ordinal(Number(every))})`;
    }
    return text;
  });
  return joinWords(items);
}

function ordinal(n: number): string {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix || 'th'}`;
}

function pad(value: string): string {
  return value.padStart(2, '0');
}

function timePhrase(minute: string, hour: string): string {
  if (NUMBER.test(minute) && NUMBER.test(hour)) {
    return `at ${pad(hour)}:${pad(minute)}`;
  }
  const minuteStep = STEP.exec(minute);
  const hourStep = STEP.exec(hour);
  if (hour === '*') {
    if (minute === '*') {
      return 'every minute';
    }
    if (minuteStep) {
      return `every ${minuteStep[1]} minutes`;
    }
    return `at minute ${describeList(minute)} of every hour`;
  }
  const minutes = minute === '*' ? 'every minute' : `at minute ${describeList(minute)}`;
  if (hourStep) {
    return `${minutes} past every ${ordinal(Number(hourStep[1]))} hour`;
  }
  if (NUMBER.test(minute) && /^[\d,]+$/.test(hour)) {
    return `at ${joinWords(hour.split(',').map(h => `${pad(h)}:${pad(minute)}`))}`;
  }
  return `${minutes} past hour ${describeList(hour)}`;
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
        ? 'every second'
        : step
          ? `every ${step[1]} seconds`
          : `at second ${describeList(seconds)}`
    );
  }
  parts.push(timePhrase(minute, hour));
  if (dom === '*' && dow === '*') {
    if (/^at \d/.test(parts[parts.length - 1])) {
      parts.push('every day');
    }
  } else {
    if (dom !== '*') {
      parts.push(`on day ${describeList(dom)} of the month`);
    }
    if (dow !== '*') {
      parts.push(`${dom !== '*' ? 'and' : 'on'} ${describeList(dow, DAYS)}`);
    }
  }
  if (month !== '*') {
    parts.push(`in ${describeList(month, MONTHS)}`);
  }
  const text = parts.join(', ').replace(', and ', ' and ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}
