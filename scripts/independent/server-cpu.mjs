// The server's CPU time (user + system) in milliseconds, from
// /proc/<pid>/stat (USER_HZ = 100), for the independent load generators.
import { readFileSync } from 'node:fs';

export function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
