/** gradsift's version, as workers register it. */
export const VERSION = "0.3.0";
