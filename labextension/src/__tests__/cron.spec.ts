import { describeCron } from '../cron';

describe('cron in words', () => {
  it.each([
    ['0 6 * * 1-5', 'At 06:00, on Monday through Friday'],
    ['0 3 * * *', 'At 03:00, every day'],
    ['*/15 * * * *', 'Every 15 minutes'],
    ['* * * * *', 'Every minute'],
    ['30 * * * *', 'At minute 30 of every hour'],
    ['0 */2 * * *', 'At minute 0 past every 2nd hour'],
    ['0 9,17 * * *', 'At 09:00 and 17:00, every day'],
    ['0 0 1 * *', 'At 00:00, on day 1 of the month'],
    ['15 8 * 1,7 mon', 'At 08:15, on Monday, in January and July'],
    ['*/10 * * * * *', 'Every 10 seconds, every minute']
  ])('%s', (expression, words) => {
    expect(describeCron(expression)).toBe(words);
  });

  it('says nothing for what is not a cron expression', () => {
    expect(describeCron('every day')).toBe('');
    expect(describeCron('')).toBe('');
  });
});
