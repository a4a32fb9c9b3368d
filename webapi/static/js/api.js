// The page's one door to the API: every request goes through request(), upload() or fetched()
// here, so the bearer token is added in this file and nowhere else, and any 401 (a token
// revoked meanwhile) sends the reviewer back to the login view through onSignedOut().

const BASE = "/api";
// The token lives in sessionStorage, not localStorage: it is gone when the tab closes, is not
// shared with other tabs, and never outlives the browser session on a shared computer. A
// reload of the same tab keeps it, so the reviewer stays signed in while they work.
const TOKEN_KEY = "screenwise.token";
const SESSION_PREFIX = "screenwise.";

/** An API error: the problem document's detail, its status and the field at fault. */
export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `request failed (${status})`);
    this.status = status;
    this.problem = problem || {};
    this.field = this.problem.field || null;
  }
}

let session = null; // GET /api/me: {name, is_admin, projects: [{project_id, name, mode, role}]}
let signedOut = () => {};

/** The signed-in reviewer as /api/me gave it, or null. */
export function me() {
  return session;
}

/** The signed-in reviewer's name: every decision is sent under it. */
export function reviewer() {
  return session ? session.name : "";
}

/** ``handler(error)`` runs when the API answers 401: the token is gone or was revoked. */
export function onSignedOut(handler) {
  signedOut = handler;
}

function forget() {
  session = null;
  // The token and what this tab remembered for it (undo stacks, stage): a reviewer who signs
  // in next in this tab starts clean.
  for (const key of Object.keys(sessionStorage)) {
    if (key.startsWith(SESSION_PREFIX)) sessionStorage.removeItem(key);
  }
}

function headers(token = sessionStorage.getItem(TOKEN_KEY)) {
  const base = { Accept: "application/json, application/problem+json" };
  return token ? { ...base, Authorization: `Bearer ${token}` } : base;
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

function failed(status, problem) {
  const error = new ApiError(status, problem);
  if (status === 401 && session) {
    forget();
    signedOut(error);
  }
  return error;
}

/** A fetch with the token; rejects with ApiError on an error status. */
async function fetched(path, { query, method = "GET", json } = {}) {
  const init = { method, headers: headers(), credentials: "same-origin" };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  const response = await fetch(url(path, query), init);
  if (!response.ok) throw failed(response.status, await problemOf(response));
  return response;
}

/** Call the API; resolves to the parsed JSON body (null for 204), rejects with ApiError. */
export async function request(method, path, { query, json } = {}) {
  const response = await fetched(path, { method, query, json });
  return response.status === 204 ? null : response.json();
}

/** Check ``token`` with GET /api/me; on success it becomes this tab's session. */
export async function signIn(token) {
  const response = await fetch(url("/me"), { headers: headers(token), credentials: "same-origin" });
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  const who = await response.json();
  forget();
  sessionStorage.setItem(TOKEN_KEY, token);
  session = who;
  return who;
}

/** The session this tab already has (a reload), or null when it has none or it expired. */
export async function resume() {
  if (!sessionStorage.getItem(TOKEN_KEY)) return null;
  try {
    session = await request("GET", "/me");
  } catch (error) {
    if (error.status !== 401) throw error;
    forget();
  }
  return session;
}

export function signOut() {
  forget();
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
      else reject(failed(xhr.status, xhr.response));
    });
    xhr.addEventListener("error", () =>
      reject(new ApiError(0, { detail: "the upload failed: no answer from the server" })),
    );
    const form = new FormData();
    for (const file of files) form.append("files", file, file.name);
    xhr.send(form);
  });
}

/**
 * A file the API serves, as a Blob. A plain link cannot carry the Authorization header, so
 * files are fetched with the token and shown or saved from an object URL (blob:).
 */
export async function blob(path, query) {
  const response = await fetched(path, { query });
  return response.blob();
}

/** Fetch a file the API serves (an export) and hand it to the browser as a download. */
export async function download(path, { query, fallbackName = "download" } = {}) {
  const response = await fetched(path, { query });
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
  updateProject: (project, body) => request("PATCH", p(project), { json: body }),
  addTheme: (project, body) => request("POST", `${p(project)}/themes`, { json: body }),
  updateTheme: (project, body) => request("PATCH", `${p(project)}/themes`, { json: body }),
  members: (project) => request("GET", `${p(project)}/members`),
  setMember: (project, name, role) =>
    request("PUT", `${p(project)}/members/${encodeURIComponent(name)}`, { json: { role } }),
  removeMember: (project, name) =>
    request("DELETE", `${p(project)}/members/${encodeURIComponent(name)}`),
  reviewers: () => request("GET", "/reviewers"),
  importFiles: (project, files, options) =>
    upload(`${p(project)}/records`, files, {
      query: { ignore_labels: options.ignoreLabels ? "true" : "" },
      onProgress: options.onProgress,
    }),
  job: (id) => request("GET", `/jobs/${encodeURIComponent(id)}`),
  cancelJob: (id) => request("POST", `/jobs/${encodeURIComponent(id)}/cancel`),
  queue: (project, stage) =>
    request("GET", `${p(project)}/queue`, { query: { n: 1, k: 3, stage } }),
  record: (project, id, stage) =>
    request("GET", `${p(project)}/records/${id}`, { query: { stage } }),
  records: (project, query) => request("GET", `${p(project)}/records`, { query }),
  recordThemes: (project, id) => request("GET", `${p(project)}/records/${id}/themes`),
  decisions: (project, query) => request("GET", `${p(project)}/decisions`, { query }),
  /** Append a decision as the signed-in reviewer. */
  decide: (project, id, body) =>
    request("POST", `${p(project)}/records/${id}/decisions`, {
      json: { ...body, reviewer: reviewer() },
    }),
  conflicts: (project, stage) => request("GET", `${p(project)}/conflicts`, { query: { stage } }),
  progress: (project) => request("GET", `${p(project)}/progress`),
  prisma: (project) => request("GET", `${p(project)}/prisma`, { query: { format: "json" } }),
  prismaImage: (project) => blob(`${p(project)}/prisma`, { format: "svg" }),
  prismaFile: (project, format, name) =>
    download(`${p(project)}/prisma`, {
      query: { format },
      fallbackName: `${name}-prisma.${format}`,
    }),
  search: (project, query) => request("GET", `${p(project)}/search`, { query }),
  model: (project) => request("GET", `${p(project)}/model`),
  retrain: (project) => request("POST", `${p(project)}/training`, { json: {} }),
  trainingJob: (project, id) => request("GET", `${p(project)}/training/${id}`),
  audit: (project) => request("GET", `${p(project)}/audit`),
  auditFile: (project) =>
    download(`${p(project)}/audit`, {
      query: { format: "csv" },
      fallbackName: `project-${project}-audit.csv`,
    }),
  studyTypes: (project, query) => request("GET", `${p(project)}/study-types`, { query }),
  setStudyType: (project, id, studyType) =>
    request("PATCH", `${p(project)}/records/${id}/study-type`, {
      json: { study_type: studyType },
    }),
  evidenceMap: (project, query) =>
    request("GET", `${p(project)}/evidence-map`, { query: { ...query, format: "json" } }),
  evidenceImage: (project, query) =>
    blob(`${p(project)}/evidence-map`, { ...query, format: "svg" }),
  evidenceFile: (project, query, name) =>
    download(`${p(project)}/evidence-map`, {
      query,
      fallbackName: `${name}-evidence-map.${query.format}`,
    }),
  exportFile: (project, format) =>
    download(`${p(project)}/export`, { query: { format }, fallbackName: `screenwise.${format}` }),
};
