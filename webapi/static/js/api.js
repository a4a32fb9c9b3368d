// The page's one door to the API: every request goes through request() or upload() here, so
// authentication (a bearer token, a login view) is added in this file and nowhere else.

const BASE = "/api";
const REVIEWER_KEY = "screenwise.reviewer";

/** An API error: the problem document's detail, its status and the field at fault. */
export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `request failed (${status})`);
    this.status = status;
    this.problem = problem || {};
    this.field = this.problem.field || null;
  }
}

/** Who decides: remembered in this browser until authentication names the reviewer. */
export function reviewer() {
  return (localStorage.getItem(REVIEWER_KEY) || "").trim();
}

export function setReviewer(name) {
  localStorage.setItem(REVIEWER_KEY, name.trim());
}

function headers(extra = {}) {
  // Authentication goes here: {Authorization: `Bearer ${token}`}.
  return { Accept: "application/json, application/problem+json", ...extra };
}

function url(path, query) {
  const target = new URL(BASE + path, window.location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") target.searchParams.set(key, value);
  }
  return target.pathname + target.search;
}

async function problemOf(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

/** Call the API; resolves to the parsed JSON body (null for 204), rejects with ApiError. */
export async function request(method, path, { query, json } = {}) {
  const init = { method, headers: headers(), credentials: "same-origin" };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  const response = await fetch(url(path, query), init);
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  return response.status === 204 ? null : response.json();
}

/**
 * Upload export files as multipart ``files``. XMLHttpRequest, not fetch, because only it
 * reports upload progress: onProgress(fraction) while sending, onProgress(null) once sent
 * (the server is then reading, deduplicating and embedding).
 */
export function upload(path, files, { query, onProgress } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url(path, query));
    for (const [key, value] of Object.entries(headers())) xhr.setRequestHeader(key, value);
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => {
      if (onProgress && event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.upload.addEventListener("load", () => onProgress && onProgress(null));
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.response);
      else reject(new ApiError(xhr.status, xhr.response));
    });
    xhr.addEventListener("error", () =>
      reject(new ApiError(0, { detail: "the upload failed: no answer from the server" })),
    );
    const form = new FormData();
    for (const file of files) form.append("files", file, file.name);
    xhr.send(form);
  });
}

/** Fetch a file the API serves (an export) and hand it to the browser as a download. */
export async function download(path, { query, fallbackName = "export" } = {}) {
  const response = await fetch(url(path, query), {
    headers: headers(),
    credentials: "same-origin",
  });
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  const disposition = response.headers.get("Content-Disposition") || "";
  const match = /filename="?([^";]+)"?/.exec(disposition);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = match ? match[1] : fallbackName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  return link.download;
}

const p = (project) => `/projects/${encodeURIComponent(project)}`;

/** The calls the page makes, named for what they do. */
export const api = {
  projects: () => request("GET", "/projects"),
  createProject: (body) => request("POST", "/projects", { json: body }),
  project: (project) => request("GET", p(project)),
  importFiles: (project, files, options) =>
    upload(`${p(project)}/records`, files, {
      query: { ignore_labels: options.ignoreLabels ? "true" : "", actor: reviewer() },
      onProgress: options.onProgress,
    }),
  queue: (project) => request("GET", `${p(project)}/queue`, { query: { n: 1, k: 3 } }),
  record: (project, id) => request("GET", `${p(project)}/records/${id}`),
  records: (project, query) => request("GET", `${p(project)}/records`, { query }),
  recordThemes: (project, id) => request("GET", `${p(project)}/records/${id}/themes`),
  recordDecisions: (project, id) => request("GET", `${p(project)}/records/${id}/decisions`),
  decisions: (project, query) => request("GET", `${p(project)}/decisions`, { query }),
  /** Append a decision as the remembered reviewer. */
  decide: (project, id, body) =>
    request("POST", `${p(project)}/records/${id}/decisions`, {
      json: { ...body, reviewer: reviewer() },
    }),
  progress: (project) => request("GET", `${p(project)}/progress`),
  search: (project, query) => request("GET", `${p(project)}/search`, { query }),
  exportFile: (project, format) =>
    download(`${p(project)}/export`, { query: { format }, fallbackName: `screenwise.${format}` }),
};
