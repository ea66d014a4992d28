/** RFC 7235: the scheme is case-insensitive; one or more spaces before the credentials. */
const BEARER = /^Bearer +(\S+)$/i;

/** The credentials of an `Authorization: Bearer <credentials>` header; undefined for any other shape. */
export function bearerCredentials(header: string): string | undefined {
  return BEARER.exec(header.trim())?.[1];
}
