import 'egg';

declare module 'egg' {
  interface Application {
    /** The mounted mini-program access_token (the seed's `app.wxToken`); undefined until one is fetched. */
    wxToken?: string;
  }
}
