/** Header a node sets when it fetches from a peer: the peer then never fetches in turn, so two nodes never wait on each other. */
export const PEER_FETCH_HEADER = "x-fleek-peer-fetch";

/** Header carrying the content length with an outboard or a proof (their own length differs). */
export const CONTENT_LENGTH_HEADER = "x-fleek-content-length";
